package notify_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/notify"
	"github.com/resetbot/resetbot/bot/notify/smtptest"
	"github.com/resetbot/resetbot/flows"
)

func TestSMTPDeliversToARealServer(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test"}
	err := m.Send(context.Background(), flows.Mail{To: []string{"a@x.test", "b@y.test"}, Subject: "Hello\r\nBcc: evil@x.test", Body: "line 1\nline 2"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1)[0]
	if got.From != "resetbot@contoso.test" || len(got.To) != 2 {
		t.Fatalf("envelope: %+v", got)
	}
	if !strings.Contains(got.Data, "Subject: Hello  Bcc: evil@x.test\n") || strings.Contains(got.Data, "\nBcc:") {
		t.Fatalf("header injection not neutralised:\n%s", got.Data)
	}
	if !strings.Contains(got.Data, "line 1\nline 2") {
		t.Fatalf("body: %q", got.Data)
	}
}

func TestSMTPRefusesBadAddresses(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test"}
	for _, to := range [][]string{nil, {"a@x.test\r\nRCPT TO:<b@y.test>"}} {
		if err := m.Send(context.Background(), flows.Mail{To: to, Subject: "s", Body: "b"}); err == nil {
			t.Fatalf("sent to %q", to)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

// A subject in another script than ASCII is sent as RFC 2047 encoded words and reads back the
// same; the body stays UTF-8.
func TestFormatEncodesSubject(t *testing.T) {
	for _, s := range []string{"Dein Passwort wurde zurückgesetzt", "パスワードがリセットされました", "Your password was reset"} {
		raw := notify.Format("bot@contoso.test", flows.Mail{To: []string{"a@contoso.test"}, Subject: s, Body: "Grüße\n"}, time.Unix(0, 0))
		msg, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		hdr := msg.Header.Get("Subject")
		for i := 0; i < len(hdr); i++ {
			if hdr[i] >= 0x80 {
				t.Fatalf("raw non-ASCII header %q", hdr)
			}
		}
		got, err := new(mime.WordDecoder).DecodeHeader(hdr)
		if err != nil || got != s {
			t.Fatalf("%q read back as %q (%v)", s, got, err)
		}
	}
}

// TestSMTPKeepsItsSessionBetweenMessages: messages one after another share one signed-in
// session (no dial, EHLO, STARTTLS and AUTH each), and a session the relay closed while it was
// idle is replaced without losing the message.
func TestSMTPKeepsItsSessionBetweenMessages(t *testing.T) {
	srv := smtptest.Start(t)
	m := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test"}
	defer m.Close()
	ctx := context.Background()
	send := func(i int) {
		t.Helper()
		if err := m.Send(ctx, flows.Mail{To: []string{"a@x.test"}, Subject: "s", Body: "message " + string(rune('0'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		send(i)
	}
	srv.Wait(t, 3)
	if n := srv.Connections(); n != 1 {
		t.Fatalf("3 messages took %d connections, want 1", n)
	}
	srv.CloseConnections()
	send(3)
	got := srv.Wait(t, 4)
	if !strings.Contains(got[3].Data, "message 3") {
		t.Fatalf("the message after the relay closed the session: %q", got[3].Data)
	}
	if n := srv.Connections(); n != 2 {
		t.Fatalf("%d connections, want a second one after the relay closed the first", n)
	}
	// a relay that drops idle sessions says 421 first; the message goes in a new session
	srv.TimeOutConnections()
	send(4)
	if got := srv.Wait(t, 5); !strings.Contains(got[4].Data, "message 4") {
		t.Fatalf("the message after the relay timed the session out: %q", got[4].Data)
	}
	if n := srv.Connections(); n != 3 {
		t.Fatalf("%d connections, want a third one after the relay timed the second out", n)
	}
	srv.RejectNext(1)
	if err := m.Send(ctx, flows.Mail{To: []string{"a@x.test"}, Subject: "s", Body: "refused"}); err == nil {
		t.Fatal("a message the relay refused was reported as sent")
	}
	send(5)
	srv.Wait(t, 6)
}

// relay is a scripted SMTP relay on loopback that offers PIPELINING or not. Offering it, it
// answers MAIL FROM, RCPT TO and DATA only once all three have arrived (RFC 2920 lets a server
// answer a group together), so a client that waits for each answer before the next command
// waits in vain; not offering it, it answers each command as it comes. It records the lines.
func relay(t *testing.T, pipelining bool) (string, func() []string) {
	t.Helper()
	return relayOffering(t, pipelining, false)
}

// relayOffering is relay, offering CHUNKING too when chunking is set (with PIPELINING): a
// BDAT command's chunk, read as the size it announces (RFC 3030), is recorded as one line
// "chunk:" and its octets, and a group ending with BDAT LAST is answered only once its chunk
// has arrived.
func relayOffering(t *testing.T, pipelining, chunking bool) (string, func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var lines []string
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { _, _ = c.Write([]byte(s)) }
		say("220 relay.test ESMTP\r\n")
		var held []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
			verb := strings.ToUpper(strings.SplitN(l, ":", 2)[0])
			switch {
			case strings.HasPrefix(verb, "EHLO"):
				switch {
				case pipelining && chunking:
					say("250-relay.test\r\n250-8BITMIME\r\n250-CHUNKING\r\n250 PIPELINING\r\n")
				case pipelining:
					say("250-relay.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
				default:
					say("250-relay.test\r\n250 8BITMIME\r\n")
				}
			case verb == "MAIL FROM" || verb == "RCPT TO":
				if !pipelining {
					say("250 ok\r\n")
					continue
				}
				held = append(held, "250 ok\r\n")
			case verb == "DATA":
				say(strings.Join(held, "") + "354 go on\r\n")
				held = nil
				for {
					b, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if b == ".\r\n" {
						break
					}
				}
				say("250 queued\r\n")
			case chunking && strings.HasPrefix(verb, "BDAT "):
				f := strings.Fields(l)
				n, err := strconv.Atoi(f[1])
				if err != nil || len(f) != 3 || f[2] != "LAST" {
					say("501 no\r\n")
					return
				}
				chunk := make([]byte, n)
				if _, err := io.ReadFull(r, chunk); err != nil {
					return
				}
				mu.Lock()
				lines = append(lines, "chunk:"+string(chunk))
				mu.Unlock()
				say(strings.Join(held, "") + "250 queued\r\n")
				held = nil
			case verb == "QUIT":
				say("221 bye\r\n")
				return
			default:
				say("502 no\r\n")
			}
		}
	}()
	return ln.Addr().String(), func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), lines...) }
}

// With a relay that offers PIPELINING a message's envelope and DATA go in one write (two round
// trips a message); with one that does not, one command at a time. Both deliver, twice in one
// session.
func TestSMTPPipelinesWhenTheRelayOffersIt(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		addr, lines := relay(t, pipelining)
		m := &notify.SMTP{Addr: addr, From: "resetbot@contoso.test", Timeout: 3 * time.Second}
		for i := range 2 {
			err := m.Send(context.Background(), flows.Mail{To: []string{"a@x.test", "b@y.test"}, Subject: "s", Body: "b"})
			if err != nil {
				t.Fatalf("pipelining %v, message %d: %v", pipelining, i, err)
			}
		}
		m.Close()
		var envelope []string
		for _, l := range lines() {
			if strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") {
				envelope = append(envelope, l)
			}
		}
		want := "MAIL FROM:<resetbot@contoso.test> BODY=8BITMIME|RCPT TO:<a@x.test>|RCPT TO:<b@y.test>"
		if got := strings.Join(envelope, "|"); got != want+"|"+want {
			t.Fatalf("pipelining %v: envelope %q", pipelining, got)
		}
	}
}

// With a relay that offers CHUNKING and PIPELINING, a message's envelope and the message itself
// go in one write as BDAT's last chunk (one round trip a message, no DATA and no 354): the
// relay answers the group only once the chunk has arrived, and the chunk is Format's message,
// octet for octet (a line starting with a dot as it is: BDAT has no dot-stuffing). Twice in one
// session, and through a real server (go-smtp, which offers CHUNKING) too.
func TestSMTPSendsAMessageInOneRoundTripWithChunking(t *testing.T) {
	addr, lines := relayOffering(t, true, true)
	m := &notify.SMTP{Addr: addr, From: "resetbot@contoso.test", Timeout: 3 * time.Second}
	mail := flows.Mail{To: []string{"a@x.test"}, Subject: "s", Body: "line one\n.a dot first\nend"}
	for i := range 2 {
		if err := m.Send(context.Background(), mail); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	// two recipients go by DATA: a chunk is sent before the recipients' replies are read, so
	// one refused would leave the message delivered to the other
	two := flows.Mail{To: []string{"a@x.test", "b@y.test"}, Subject: "s", Body: "two"}
	if err := m.Send(context.Background(), two); err != nil {
		t.Fatalf("two recipients: %v", err)
	}
	m.Close()
	var group, chunks []string
	for _, l := range lines() {
		switch {
		case strings.HasPrefix(l, "chunk:"):
			chunks = append(chunks, strings.TrimPrefix(l, "chunk:"))
		case strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") || strings.HasPrefix(l, "BDAT") || l == "DATA":
			group = append(group, strings.Fields(l)[0])
		}
	}
	if got := strings.Join(group, " "); got != "MAIL RCPT BDAT MAIL RCPT BDAT MAIL RCPT RCPT DATA" {
		t.Fatalf("commands %q, want each message's envelope and one BDAT, DATA for two recipients", got)
	}
	if len(chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(chunks))
	}
	for _, c := range chunks {
		head, body, ok := strings.Cut(c, "\r\n\r\n")
		if !ok || !strings.Contains(head, "Subject: s\r\n") || body != "line one\r\n.a dot first\r\nend\r\n" {
			t.Fatalf("chunk %q", c)
		}
	}

	srv := smtptest.Start(t)
	real := &notify.SMTP{Addr: srv.Addr, From: "resetbot@contoso.test"}
	defer real.Close()
	for i := range 2 {
		if err := real.Send(context.Background(), mail); err != nil {
			t.Fatalf("go-smtp, message %d: %v", i, err)
		}
	}
	srv.Wait(t, 2)
	for _, got := range srv.Messages() {
		if !strings.HasSuffix(got.Data, "\n\nline one\n.a dot first\nend\n") { // (line breaks as smtptest keeps them)
			t.Fatalf("go-smtp received %q", got.Data)
		}
	}
}

// formatBefore is Format as it was written first (fmt, a replacer per header, the body's line
// breaks replaced twice): the faster Format must write the same message.
func formatBefore(from string, m flows.Mail, now time.Time) string {
	var b strings.Builder
	clean := func(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
	sub := clean(m.Subject)
	for i := 0; i < len(sub); i++ {
		if sub[i] >= 0x80 {
			sub = mime.QEncoding.Encode("utf-8", sub)
			break
		}
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
		clean(from), clean(strings.Join(m.To, ", ")), sub, now.UTC().Format(time.RFC1123Z))
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	b.WriteString("\r\n")
	return b.String()
}

func TestFormatWritesWhatItWroteBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "Zü", " ", "\r", "\n", "\r\n", "\n\r", ".", "..", "パ", "\t", ":", "<", "x@y.test"}
	random := func(n int) string {
		var sb strings.Builder
		for range r.IntN(n) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		return sb.String()
	}
	for i := range 3000 {
		m := flows.Mail{Subject: random(8), Body: random(30)}
		for range r.IntN(3) {
			m.To = append(m.To, random(4))
		}
		now := time.Unix(int64(r.Uint32()), 0).In(time.FixedZone("x", 3600*(i%5)))
		from := random(5)
		if got, want := notify.Format(from, m, now), formatBefore(from, m, now); got != want {
			t.Fatalf("%q %+v:\n got  %q\n want %q", from, m, got, want)
		}
	}
}

// A chunk sent whose replies never come in time is not sent again on a new session: the relay
// has the whole message and may be queueing it still (a relay that answers a pipelined group
// only once the chunk is queued). Send reports the failure, and the relay got it once.
func TestSMTPChunkNotResentAfterATimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	sessions, chunks := 0, 0
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			sessions++
			mu.Unlock()
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				_, _ = c.Write([]byte("220 relay.test ESMTP\r\n"))
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(l)
					switch {
					case strings.HasPrefix(strings.ToUpper(l), "EHLO"):
						_, _ = c.Write([]byte("250-relay.test\r\n250-CHUNKING\r\n250 PIPELINING\r\n"))
					case len(f) == 3 && f[0] == "BDAT":
						n, _ := strconv.Atoi(f[1])
						if _, err := io.ReadFull(r, make([]byte, n)); err != nil {
							return
						}
						mu.Lock()
						chunks++
						first := chunks == 1
						mu.Unlock()
						if first { // the first message is answered, and the session kept
							_, _ = c.Write([]byte("250 ok\r\n250 ok\r\n250 queued\r\n"))
							continue
						}
						<-release // the next one's replies are held until the test ends
						return
					}
				}
			}(c)
		}
	}()
	m := &notify.SMTP{Addr: ln.Addr().String(), From: "resetbot@contoso.test", Timeout: 300 * time.Millisecond}
	defer m.Close()
	mail := flows.Mail{To: []string{"a@x.test"}, Subject: "s", Body: "b"}
	if err := m.Send(context.Background(), mail); err != nil {
		t.Fatal(err)
	}
	err = m.Send(context.Background(), mail) // on the kept session
	if err == nil {
		t.Fatal("Send reported a message whose replies never came as sent")
	}
	mu.Lock()
	defer mu.Unlock()
	if sessions != 1 || chunks != 2 {
		t.Fatalf("%d sessions, %d chunks: the message was sent again (%v)", sessions, chunks, err)
	}
}
