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
}

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
	c, err := s.session(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("notify: smtp from: %w", err)
	}
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
	return c.Quit()
}

// session dials the relay, upgrades to TLS (required unless on loopback) and signs in.
func (s *SMTP) session(ctx context.Context) (*smtp.Client, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp dial: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify: smtp: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			c.Close()
			return nil, fmt.Errorf("notify: starttls: %w", err)
		}
	} else if !isLoopback(host) {
		c.Close()
		return nil, errors.New("notify: relay offers no STARTTLS")
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			c.Close()
			return nil, fmt.Errorf("notify: smtp auth: %w", err)
		}
	}
	return c, nil
}

// Check proves the relay answers, speaks TLS and accepts the credentials: a start-up check.
func (s *SMTP) Check(ctx context.Context) error {
	c, err := s.session(ctx)
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
