package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// SMTP sends mail through an SMTP relay with STARTTLS when offered (required unless the relay
// is on loopback) and PLAIN auth when a user is set.
type SMTP struct {
	Addr     string // host:port
	From     string
	User     string
	Password string
	// TLSConfig for STARTTLS; nil uses the system roots and the relay's host name.
	TLSConfig *tls.Config
	Timeout   time.Duration
	// MaxConns bounds the sessions open to the relay at once (0: DefaultMaxConns). A sender
	// finding them all busy waits for one (within its context and Timeout) instead of opening
	// another.
	MaxConns int

	mu      sync.Mutex
	idle    []*smtpConn // signed-in sessions between messages, oldest first
	open    int         // sessions open or being opened, the idle ones included
	waiting []*waiter   // senders waiting for a session, first come first served
	spare   []*waiter   // waiters to use again (no channel and timer made per wait)
	onWait  func()      // tests: called when a sender starts waiting
	closed  bool        // Close was called: a session handed back then is ended, not kept
}

// waiter is a sender waiting for a session: release hands it one, or nil for the place of a
// closed one, on ch; t ends the wait.
type waiter struct {
	ch chan *smtpConn
	t  *time.Timer
}

// smtpConn is a signed-in relay connection.
type smtpConn struct {
	c    *smtp.Client
	conn net.Conn
	used time.Time
}

// DefaultMaxConns is the bound on open relay sessions unless MaxConns says otherwise. Relays
// limit the connections one client holds at once and refuse the ones past the limit, which
// would lose a code: Exchange Online's SMTP AUTH submission allows three per mailbox and
// answers more with "432 4.3.2 Concurrent connections limit exceeded" (Microsoft Learn,
// Exchange troubleshooting, "Message storage and concurrent connection throttling for SMTP
// Authenticated Submission"); Postfix allows one client 50 at once (postconf(5),
// smtpd_client_connection_count_limit, default 50). The default is the strictest of these,
// three, so the bot works with either out of the box; with pipelining three sessions carry
// far more messages than a relay's rate limits let through (Exchange Online: 30 a minute a
// mailbox), and waiting for one costs the bot nothing.
const DefaultMaxConns = 3

// Every open session is kept for the next message (RFC 5321 lets a client send many messages
// in one session) for at most smtpIdleFor: a relay closes idle connections after five minutes
// or more (section 4.5.3.2.7), so a kept one is usually still open, and one closed meanwhile is
// noticed at MAIL and replaced. This saves the dial, EHLO, STARTTLS and AUTH of every message
// after the first; as the sessions are bounded and kept, steady load opens none after the
// first few.
const smtpIdleFor = 30 * time.Second

var _ flows.Mailer = (*SMTP)(nil)

// Send delivers one message.
func (s *SMTP) Send(ctx context.Context, m flows.Mail) error {
	if len(m.To) == 0 {
		return errors.New("notify: no recipient")
	}
	if strings.ContainsAny(s.From, "\r\n<>") {
		return errors.New("notify: invalid address")
	}
	for _, a := range m.To {
		if strings.ContainsAny(a, "\r\n<>") {
			return errors.New("notify: invalid address")
		}
	}
	sc, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	// the place is given back however Send ends (a panic in the session included), with the
	// session when it can send the next message
	var back *smtpConn
	defer func() { s.release(back) }()
	if sc != nil {
		err := s.transact(sc.c, m)
		if err == nil {
			back = sc
			return nil
		}
		sc.c.Close()
		// 421 at MAIL: the relay is closing the session (RFC 5321 section 3.8: what a relay
		// says when it drops a connection idle too long), or no answer at all: a new session
		// (in the place of the closed one) sends the message. Any other reply is the relay's
		// answer, as on a new session.
		var from *fromError
		var reply *textproto.Error
		if !errors.As(err, &from) || errors.As(err, &reply) && reply.Code != 421 {
			return err
		}
	}
	c, conn, err := s.session(ctx)
	if err != nil {
		return err
	}
	if err := s.transact(c, m); err != nil {
		c.Close()
		return err
	}
	back = &smtpConn{c: c, conn: conn}
	return nil
}

// fromError is a failed MAIL FROM: the first command of a message, where a kept session the
// relay closed meanwhile shows.
type fromError struct{ err error }

func (e *fromError) Error() string { return "notify: smtp from: " + e.err.Error() }
func (e *fromError) Unwrap() error { return e.err }

// transact sends one message in a signed-in session.
func (s *SMTP) transact(c *smtp.Client, m flows.Mail) error {
	if ok, _ := c.Extension("PIPELINING"); ok {
		// BDAT for one recipient only: the chunk is sent before any reply is read, so with two a
		// refused one would still leave the message delivered to the other (RFC 3030), where
		// DATA delivers to nobody; with one, a refused recipient refuses the chunk too
		if chunking, _ := c.Extension("CHUNKING"); chunking && len(m.To) == 1 {
			return s.chunked(c, m)
		}
		return s.pipelined(c, m)
	}
	if err := c.Mail(s.From); err != nil {
		return &fromError{err}
	}
	return s.deliver(c, m)
}

// pipelined sends MAIL FROM, every RCPT TO and DATA in one write and then reads their replies
// in order (RFC 2920 PIPELINING, which the relay offered: DATA ends the group and the message
// follows its 354), so a message takes two round trips instead of three and one a recipient.
// The commands are those net/smtp sends (MAIL with BODY=8BITMIME and SMTPUTF8 when offered).
func (s *SMTP) pipelined(c *smtp.Client, m flows.Mail) error {
	t := c.Text
	s.envelope(c, m)
	_, _ = t.W.WriteString("DATA\r\n")
	if err := t.W.Flush(); err != nil {
		return &fromError{err}
	}
	if err := envelopeReplies(t, m); err != nil {
		return err
	}
	if _, _, err := t.ReadResponse(354); err != nil {
		return fmt.Errorf("notify: smtp data: %w", err)
	}
	dw := t.DotWriter()
	if _, err := io.WriteString(dw, Format(s.From, m, time.Now())); err != nil {
		return fmt.Errorf("notify: smtp write: %w", err)
	}
	if err := dw.Close(); err != nil {
		return fmt.Errorf("notify: smtp write: %w", err)
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return fmt.Errorf("notify: smtp data end: %w", err)
	}
	return nil
}

// chunked sends the envelope and the whole message as one last chunk in one write, then reads
// the replies in order: RFC 3030 CHUNKING, which the relay offered with PIPELINING, sends a
// message with BDAT <size> LAST followed by exactly that many octets, so nothing waits for a
// 354 and a message takes one round trip instead of two. The octets are Format's message as
// it is (lines ending in CRLF); BDAT has no dot-stuffing and no end-of-data line. A relay reads
// a chunk even when it refuses its command (RFC 3030 section 2), and a refused message ends
// the session here as on the other paths.
func (s *SMTP) chunked(c *smtp.Client, m flows.Mail) error {
	t := c.Text
	s.envelope(c, m)
	msg := Format(s.From, m, time.Now())
	var n [20]byte
	_, _ = t.W.WriteString("BDAT ")
	_, _ = t.W.Write(strconv.AppendInt(n[:0], int64(len(msg)), 10))
	_, _ = t.W.WriteString(" LAST\r\n")
	_, _ = t.W.WriteString(msg)
	if err := t.W.Flush(); err != nil {
		return &fromError{err} // the relay has no whole chunk: nothing was delivered
	}
	// the whole message is with the relay before its first reply: a new session may send it
	// again only when that reply says the session was over (421, or the connection closed
	// without a word, as a relay closing an idle kept session does), never after a wait that
	// timed out, when the relay may be queueing it still
	if _, _, err := t.ReadResponse(250); err != nil {
		var reply *textproto.Error
		if errors.As(err, &reply) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return &fromError{err}
		}
		return fmt.Errorf("notify: smtp from: %w", err)
	}
	if _, _, err := t.ReadResponse(25); err != nil {
		return fmt.Errorf("notify: smtp rcpt: %w", err)
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return fmt.Errorf("notify: smtp bdat: %w", err)
	}
	return nil
}

// envelope writes MAIL FROM and every RCPT TO into the session's buffer, unsent: the start of
// a pipelined group.
func (s *SMTP) envelope(c *smtp.Client, m flows.Mail) {
	w := c.Text.W // the group written in pieces: no string made for each command
	_, _ = w.WriteString("MAIL FROM:<")
	_, _ = w.WriteString(s.From)
	_, _ = w.WriteString(">")
	if ok, _ := c.Extension("8BITMIME"); ok {
		_, _ = w.WriteString(" BODY=8BITMIME")
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		_, _ = w.WriteString(" SMTPUTF8")
	}
	_, _ = w.WriteString("\r\n")
	for _, to := range m.To {
		_, _ = w.WriteString("RCPT TO:<")
		_, _ = w.WriteString(to)
		_, _ = w.WriteString(">\r\n")
	}
}

// envelopeReplies reads the replies to a pipelined MAIL FROM and its RCPT TOs, in order.
func envelopeReplies(t *textproto.Conn, m flows.Mail) error {
	if _, _, err := t.ReadResponse(250); err != nil {
		return &fromError{err}
	}
	for range m.To {
		if _, _, err := t.ReadResponse(25); err != nil {
			return fmt.Errorf("notify: smtp rcpt: %w", err)
		}
	}
	return nil
}

// deliver sends the rest of a message whose MAIL FROM the relay accepted, one command at a time.
func (s *SMTP) deliver(c *smtp.Client, m flows.Mail) error {
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("notify: smtp rcpt: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: smtp data: %w", err)
	}
	if _, err := io.WriteString(w, Format(s.From, m, time.Now())); err != nil {
		return fmt.Errorf("notify: smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: smtp data end: %w", err)
	}
	return nil
}

func (s *SMTP) maxConns() int {
	if s.MaxConns > 0 {
		return s.MaxConns
	}
	return DefaultMaxConns
}

// acquire returns a kept session with a fresh deadline, or nil when the sender may open a new
// one (a place among the open sessions is then the sender's, to give back with release). With
// every place taken it waits for a session another sender gives back, or a place one frees,
// for at most the sender's context and the timeout. Sessions idle too long are ended.
func (s *SMTP) acquire(ctx context.Context) (*smtpConn, error) {
	now := time.Now()
	s.mu.Lock()
	var stale []*smtpConn
	n := 0
	for n < len(s.idle) && now.Sub(s.idle[n].used) >= smtpIdleFor {
		n++
	}
	if n > 0 {
		stale = append(stale, s.idle[:n]...)
		s.idle = append(s.idle[:0], s.idle[n:]...)
		s.open -= n
	}
	defer quitAll(stale) // without waiting for the relay's answers
	if k := len(s.idle); k > 0 {
		sc := s.idle[k-1] // the newest: the older ones may go idle long enough to end
		s.idle[k-1] = nil
		s.idle = s.idle[:k-1]
		s.mu.Unlock()
		_ = sc.conn.SetDeadline(now.Add(s.timeout()))
		return sc, nil
	}
	if s.open < s.maxConns() {
		s.open++
		s.mu.Unlock()
		return nil, nil
	}
	var w *waiter
	if k := len(s.spare); k > 0 {
		w = s.spare[k-1]
		s.spare = s.spare[:k-1]
		w.t.Reset(s.timeout())
	} else {
		w = &waiter{ch: make(chan *smtpConn, 1), t: time.NewTimer(s.timeout())}
	}
	s.waiting = append(s.waiting, w)
	onWait := s.onWait
	s.mu.Unlock()
	if onWait != nil {
		onWait()
	}
	var err error
	select {
	case sc := <-w.ch:
		s.spareWaiter(w)
		if sc != nil {
			_ = sc.conn.SetDeadline(time.Now().Add(s.timeout()))
		}
		return sc, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-w.t.C:
		err = fmt.Errorf("none free within %v", s.timeout())
	}
	s.mu.Lock()
	gone := true
	for i, o := range s.waiting {
		if o == w {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			gone = false
			break
		}
	}
	s.mu.Unlock()
	if gone { // a session or place was handed over meanwhile: to the next sender
		s.release(<-w.ch)
	}
	s.spareWaiter(w)
	return nil, fmt.Errorf("notify: smtp: waiting for a relay session: %w", err)
}

// spareWaiter keeps a waiter whose channel is empty for the next wait.
func (s *SMTP) spareWaiter(w *waiter) {
	w.t.Stop() // since Go 1.23 a stopped timer's channel holds nothing to receive
	s.mu.Lock()
	s.spare = append(s.spare, w)
	s.mu.Unlock()
}

// release gives back a session after a message, or the place of one that was closed (nil):
// to the sender waiting longest, else the session is kept for the next message.
func (s *SMTP) release(sc *smtpConn) {
	s.mu.Lock()
	if len(s.waiting) > 0 {
		w := s.waiting[0]
		copy(s.waiting, s.waiting[1:])
		s.waiting[len(s.waiting)-1] = nil
		s.waiting = s.waiting[:len(s.waiting)-1]
		s.mu.Unlock()
		w.ch <- sc // buffered, and empty while waiting: never blocks
		return
	}
	if sc == nil || s.closed {
		s.open--
	} else {
		sc.used = time.Now()
		s.idle = append(s.idle, sc)
		sc = nil
	}
	s.mu.Unlock()
	if sc != nil {
		quit(sc.c)
	}
}

// Close ends the kept sessions, and those in use as their messages end.
func (s *SMTP) Close() {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.open -= len(idle)
	s.mu.Unlock()
	for _, sc := range idle {
		quit(sc.c)
	}
}

func quitAll(scs []*smtpConn) {
	for _, sc := range scs {
		go quit(sc.c)
	}
}

func quit(c *smtp.Client) {
	if c.Quit() != nil {
		c.Close()
	}
}

func (s *SMTP) timeout() time.Duration {
	if s.Timeout == 0 {
		return 10 * time.Second
	}
	return s.Timeout
}

// session dials the relay, upgrades to TLS (required unless on loopback) and signs in.
func (s *SMTP) session(ctx context.Context) (*smtp.Client, net.Conn, error) {
	timeout := s.timeout()
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("notify: smtp dial: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("notify: smtp: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("notify: starttls: %w", err)
		}
	} else if !isLoopback(host) {
		c.Close()
		return nil, nil, errors.New("notify: relay offers no STARTTLS")
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("notify: smtp auth: %w", err)
		}
	}
	return c, conn, nil
}

// Check proves the relay answers, speaks TLS and accepts the credentials: a start-up check.
func (s *SMTP) Check(ctx context.Context) error {
	c, _, err := s.session(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Quit()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// subject writes a header text other than ASCII as RFC 2047 encoded words ("Dein Passwort
// wurde zurückgesetzt", "パスワードがリセットされました"): RFC 5322 headers are ASCII.
func subject(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// headerLine makes a header value one line (no header can be injected through it).
var headerLine = strings.NewReplacer("\r", " ", "\n", " ")

// Format renders a plain-text RFC 5322 message, its lines ended by CRLF.
func Format(from string, m flows.Mail, now time.Time) string {
	var b strings.Builder
	b.Grow(300 + len(from) + len(m.Subject) + len(m.Body) + len(m.Body)/16)
	b.WriteString("From: ")
	b.WriteString(headerLine.Replace(from))
	b.WriteString("\r\nTo: ")
	b.WriteString(headerLine.Replace(strings.Join(m.To, ", ")))
	b.WriteString("\r\nSubject: ")
	b.WriteString(subject(headerLine.Replace(m.Subject)))
	b.WriteString("\r\nDate: ")
	var date [40]byte
	b.Write(now.UTC().AppendFormat(date[:0], time.RFC1123Z))
	b.WriteString("\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n")
	// every line break of the body a CRLF (a CR alone stays as it is)
	body := m.Body
	for {
		i := strings.IndexByte(body, '\n')
		if i < 0 {
			b.WriteString(body)
			break
		}
		b.WriteString(body[:i])
		if i == 0 || body[i-1] != '\r' {
			b.WriteByte('\r')
		}
		b.WriteByte('\n')
		body = body[i+1:]
	}
	b.WriteString("\r\n")
	return b.String()
}

// Outbox is the demo's mailer: it prints each message to a writer.
type Outbox struct {
	mu sync.Mutex
	W  io.Writer
}

var _ flows.Mailer = (*Outbox)(nil)

// Send prints the message.
func (o *Outbox) Send(_ context.Context, m flows.Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err := fmt.Fprintf(o.W, "\n📧 [outbox] to %s — %s\n%s\n", strings.Join(m.To, ", "), m.Subject, indent(m.Body))
	return err
}

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ")
}
