// Package smtptest runs a real SMTP server (emersion/go-smtp) in process on loopback and keeps
// what it receives, for tests.
package smtptest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received message.
type Message struct {
	From string
	To   []string
	Data string
}

// Server is the running SMTP server.
type Server struct {
	Addr   string
	mu     sync.Mutex
	msgs   []Message
	got    chan struct{}
	reject int // messages still to refuse with a temporary failure
	hook   func(Message)
	conns  []*smtp.Conn // every connection accepted so far
}

// TimeOutConnections ends every open connection as the server does one idle past its read
// timeout: "421 4.4.2 Idle timeout, bye bye", then it closes.
func (s *Server) TimeOutConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_, _ = c.Conn().Write([]byte("421 4.4.2 Idle timeout, bye bye\r\n"))
		_ = c.Close()
	}
}

// Connections is how many SMTP connections the server accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseConnections closes every open connection from the server's side, as a relay does with
// a connection idle past its timeout (RFC 5321 section 4.5.3.2.7: at least five minutes).
func (s *Server) CloseConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// OnMessage calls f with every message as it arrives (load tests route codes with it).
func (s *Server) OnMessage(f func(Message)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

// RejectNext makes the relay refuse the next n messages with 451 (temporarily unavailable).
func (s *Server) RejectNext(n int) {
	s.mu.Lock()
	s.reject = n
	s.mu.Unlock()
}

// Start serves SMTP on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{got: make(chan struct{}, 1000)}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Messages returns what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait blocks until n messages arrived in total, or fails the test after 10 s.
func (s *Server) Wait(t testing.TB, n int) []Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("SMTP server got %d messages, want %d", len(s.Messages()), n)
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.conns = append(b.s.conns, c)
	b.s.mu.Unlock()
	return &session{s: b.s}, nil
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.reject > 0 {
		x.s.reject--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporarily unavailable"}
	}
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error { x.to = append(x.to, to); return nil }
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: x.from, To: x.to, Data: strings.ReplaceAll(string(b), "\r\n", "\n")}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, m)
	hook := x.s.hook
	x.s.mu.Unlock()
	if hook != nil {
		hook(m)
	}
	select {
	case x.s.got <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
