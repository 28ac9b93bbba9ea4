package app

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPServerClosesIdleConnections: the bot's server closes a kept-alive connection that
// waits too long for its next request (net/http's default keeps it for ever), later than the
// proxies in front of it do (Caddy 2 minutes).
func TestHTTPServerClosesIdleConnections(t *testing.T) {
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	if srv.IdleTimeout <= 2*time.Minute || srv.IdleTimeout > 10*time.Minute {
		t.Fatalf("idle timeout %v: want more than the proxies' 2 minutes and at most 10", srv.IdleTimeout)
	}
	if srv.ReadHeaderTimeout != 10*time.Second {
		t.Fatalf("header timeout %v", srv.ReadHeaderTimeout)
	}
	// the setting takes effect: with a short one, an idle connection is closed by the server
	srv.IdleTimeout = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the server did not keep the connection alive")
	}
	// the server closes it; the read returns EOF long before this bound
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("idle connection still open: %v", err)
	}
}

// TestHTTPServerBoundsHowLongABodyTakes: a POST whose body does not arrive within the read
// timeout fails (the handler's read returns a timeout and the connection ends), while a handler
// that has read its body may work longer than that timeout without its context being cancelled.
func TestHTTPServerBoundsHowLongABodyTakes(t *testing.T) {
	type result struct {
		readErr, ctxErr error
	}
	results := make(chan result, 1)
	const d = 100 * time.Millisecond
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err != nil {
			results <- result{readErr: err}
			http.Error(w, "request timeout", http.StatusRequestTimeout)
			return
		}
		// work that outlasts the read timeout (Graph setting a password, say): the time itself
		// is what is tested, the connection's deadline passing while the handler works
		<-time.After(4 * d)
		results <- result{ctxErr: r.Context().Err()}
		_, _ = w.Write([]byte("done"))
	}))
	if srv.ReadTimeout < 20*time.Second || srv.ReadTimeout > time.Minute {
		t.Fatalf("read timeout %v: want 20 seconds to a minute", srv.ReadTimeout)
	}
	// the setting takes effect: with a short one
	srv.ReadTimeout = d
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	send := func(req string) *bufio.Reader {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		// a bound for the test's failure only: the answers below come long before it
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		return bufio.NewReader(c)
	}

	// three bytes of the ten announced, and then nothing
	resp, err := http.ReadResponse(send("POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"), nil)
	if err != nil {
		t.Fatalf("a body that never arrives: no answer (%v)", err)
	}
	resp.Body.Close()
	r := <-results
	var ne net.Error
	if !errors.As(r.readErr, &ne) || !ne.Timeout() {
		t.Fatalf("the handler's read of a body that never arrives: %v, want a timeout", r.readErr)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d", resp.StatusCode)
	}

	// the whole body at once, then a handler that works past the deadline
	resp, err = http.ReadResponse(send("POST /l/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r = <-results
	if r.readErr != nil || r.ctxErr != nil {
		t.Fatalf("a handler working past the read timeout: read %v, context %v", r.readErr, r.ctxErr)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "done" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
}
