package app

import (
	"bufio"
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
