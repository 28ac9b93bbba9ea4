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
	"strings"
	"sync"
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

	mu   sync.Mutex
	idle []*smtpConn // signed-in connections between messages, newest last
}

// smtpConn is a signed-in relay connection.
type smtpConn struct {
	c    *smtp.Client
	conn net.Conn
	used time.Time
}

// A connection is kept for the next message (RFC 5321 lets a client send many messages in one
// session), at most smtpIdle of them, for at most smtpIdleFor: a relay closes idle connections
// after five minutes or more (section 4.5.3.2.7), so a kept one is usually still open, and one
// closed meanwhile is noticed at MAIL and replaced. This saves the dial, EHLO, STARTTLS and AUTH
// of every message after the first.
const (
	smtpIdle    = 8
	smtpIdleFor = 30 * time.Second
)

var _ flows.Mailer = (*SMTP)(nil)

// Send delivers one message.
func (s *SMTP) Send(ctx context.Context, m flows.Mail) error {
	if len(m.To) == 0 {
		return errors.New("notify: no recipient")
	}
	for _, a := range append([]string{s.From}, m.To...) {
		if strings.ContainsAny(a, "\r\n<>") {
			return errors.New("notify: invalid address")
		}
	}
	sc := s.take()
	if sc != nil {
		err := s.transact(sc.c, m)
		if err == nil {
			s.keep(sc)
			return nil
		}
		sc.c.Close()
		// 421 at MAIL: the relay is closing the session (RFC 5321 section 3.8: what a relay
		// says when it drops a connection idle too long), or no answer at all: a new session
		// sends the message. Any other reply is the relay's answer, as on a new session.
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
	s.keep(&smtpConn{c: c, conn: conn})
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
	mail := "MAIL FROM:<" + s.From + ">"
	if ok, _ := c.Extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		mail += " SMTPUTF8"
	}
	w := t.W
	_, _ = w.WriteString(mail + "\r\n")
	for _, to := range m.To {
		_, _ = w.WriteString("RCPT TO:<" + to + ">\r\n")
	}
	_, _ = w.WriteString("DATA\r\n")
	if err := w.Flush(); err != nil {
		return &fromError{err}
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return &fromError{err}
	}
	for range m.To {
		if _, _, err := t.ReadResponse(25); err != nil {
			return fmt.Errorf("notify: smtp rcpt: %w", err)
		}
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

// take returns a kept connection with a fresh deadline (nil when none is fresh enough); the
// stale ones are closed.
func (s *SMTP) take() *smtpConn {
	now := time.Now()
	s.mu.Lock()
	var sc *smtpConn
	var stale []*smtpConn
	for len(s.idle) > 0 && sc == nil {
		last := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if now.Sub(last.used) < smtpIdleFor {
			sc = last
		} else {
			stale = append(stale, last)
		}
	}
	s.mu.Unlock()
	for _, c := range stale {
		go quit(c.c) // without waiting for the relay's answer
	}
	if sc != nil {
		_ = sc.conn.SetDeadline(now.Add(s.timeout()))
	}
	return sc
}

// keep puts a connection back for the next message, or ends its session when enough are kept.
func (s *SMTP) keep(sc *smtpConn) {
	sc.used = time.Now()
	s.mu.Lock()
	if len(s.idle) < smtpIdle {
		s.idle = append(s.idle, sc)
		sc = nil
	}
	s.mu.Unlock()
	if sc != nil {
		quit(sc.c)
	}
}

// Close ends the kept sessions.
func (s *SMTP) Close() {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, sc := range idle {
		quit(sc.c)
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

// Format renders a plain-text RFC 5322 message.
func Format(from string, m flows.Mail, now time.Time) string {
	var b strings.Builder
	clean := func(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
		clean(from), clean(strings.Join(m.To, ", ")), subject(clean(m.Subject)), now.UTC().Format(time.RFC1123Z))
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
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
