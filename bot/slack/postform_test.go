package slack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// recorder is a listener that keeps the bytes read from each connection it accepts: the
// requests as they were on the wire.
type recorder struct {
	net.Listener
	mu    sync.Mutex
	conns []*bytes.Buffer
}

func (l *recorder) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &bytes.Buffer{}
	l.conns = append(l.conns, b)
	return &recordedConn{Conn: c, l: l, b: b}, nil
}

// taken returns the bytes read since the last call, of every connection, and forgets them.
func (l *recorder) taken() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s string
	for _, b := range l.conns {
		s += b.String()
		b.Reset()
	}
	return s
}

type recordedConn struct {
	net.Conn
	l *recorder
	b *bytes.Buffer
}

func (c *recordedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.b.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// postForm puts on the wire, byte for byte, the request http.NewRequestWithContext made from
// the URL string sent through slack-go's client (bot.PooledClient with its Timeout): the same
// request line, Host, headers in the same order, Content-Length and body, for each method
// whose URL is parsed once and for another method, under a base URL with a path.
func TestPostFormWireUnchanged(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // all of the request read before the answer: recorded
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	rec := &recorder{Listener: srv.Listener}
	srv.Listener = rec
	srv.Start()
	defer srv.Close()

	const token = "xoxb-1-2-abc"
	base := srv.URL + "/api/"
	hc := bot.PooledClient(30 * time.Second)
	a := &Adapter{cfg: Config{BotToken: token}, web: newWebAPI(hc, base)}
	ctx := context.Background()
	for _, method := range append(formMethods[:], "conversations.open") {
		fields := []string{"channel", "D0123ABCD", "text", "Pick one & go: é ✓", "blocks", formBlocks}
		// as postForm did before: the URL string parsed per call, the client's Timeout
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+method, bytes.NewReader(encodeForm(append(fields[:len(fields):len(fields)], "token", token))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		want := rec.taken()

		var r statusAnswer
		if err := a.postForm(ctx, method, fields, &r); err != nil || !r.Ok {
			t.Fatalf("%s: %+v %v", method, r, err)
		}
		got := rec.taken()
		if got != want || len(want) < len(formBlocks) {
			t.Errorf("%s: sent\n%q\nbefore\n%q", method, got, want)
		}
		// answers asked for as they are (bot.Uncompressed): no gzip reader per answer
		if strings.Contains(strings.ToLower(got), "accept-encoding") {
			t.Errorf("%s: sent %q", method, got)
		}
	}
	if _, ok := a.web.urls["chat.postMessage"]; !ok {
		t.Fatal("chat.postMessage's URL is parsed per call")
	}
}

// A Slack API that sends the answer's headers and part of its body, then stalls, is cut off at
// the client's timeout: the bound covers reading the whole answer, as the client's Timeout did.
func TestPostFormTimeoutCoversBody(t *testing.T) {
	sent := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "4096")
		_, _ = io.WriteString(w, `{"ok":true,"channel":"D1","message":{"text":"`)
		w.(http.Flusher).Flush()
		close(sent)
		select { // stalls mid-body until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	const timeout = 300 * time.Millisecond
	a := &Adapter{cfg: Config{BotToken: "xoxb-1-2-abc"}, web: newWebAPI(&http.Client{Transport: srv.Client().Transport, Timeout: timeout}, srv.URL+"/")}
	if a.web.timeout != timeout {
		t.Fatalf("call timeout %v", a.web.timeout)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		var r statusAnswer
		done <- a.postForm(context.Background(), "chat.postMessage", []string{"channel", "D1", "text", "x"}, &r)
	}()
	select {
	case err := <-done:
		elapsed := time.Since(start)
		select {
		case <-sent:
		default:
			t.Fatalf("the call ended (%v) before the answer's first bytes were sent", err)
		}
		var te interface{ Timeout() bool }
		if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &te) && te.Timeout()) {
			t.Fatalf("stalled answer: %v, want a timeout", err)
		}
		if elapsed < timeout {
			t.Fatalf("cut off after %v, before the timeout %v", elapsed, timeout)
		}
	case <-time.After(20 * timeout):
		t.Fatalf("a stalled answer's body was still being read %v later", 20*timeout)
	}
}

// A call that fails on the way fails as it did through http.Client: a *url.Error naming the
// operation and the URL, its password hidden, around the transport's error.
func TestPostFormErrorAsTheClients(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := strings.Replace(srv.URL, "http://", "http://bot:secret@", 1) + "/api/"
	srv.Close() // nothing listens any more
	hc := bot.PooledClient(10 * time.Second)
	a := &Adapter{cfg: Config{BotToken: "xoxb-1-2-abc"}, web: newWebAPI(hc, base)}
	var r statusAnswer
	err := a.postForm(context.Background(), "chat.postMessage", []string{"channel", "D1", "text", "x"}, &r)
	_, want := hc.Post(base+"chat.postMessage", "application/x-www-form-urlencoded", strings.NewReader("x"))
	var ue, wue *url.Error
	if !errors.As(err, &ue) || !errors.As(want, &wue) || ue.Op != wue.Op || ue.URL != wue.URL || ue.Err.Error() != wue.Err.Error() {
		t.Fatalf("error %#v, the client's %#v", err, want)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the password in the error: %v", err)
	}
}

// postForm reaches the Web API as production does, over TLS with HTTP/2 when the server offers
// it (the transport of bot.PooledClient, asked directly), asking for the answer as it is.
func TestPostFormOverHTTP2(t *testing.T) {
	var proto, accepted string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto, accepted = r.Proto, r.Header.Get("Accept-Encoding")
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"channel":"`+r.PostForm.Get("channel")+`","ts":"1700000000.000001"}`)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := bot.PooledClient(10 * time.Second)
	tr := hc.Transport.(*http.Transport)
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone() // the test's CA
	a := &Adapter{cfg: Config{BotToken: "xoxb-1-2-abc"}, web: newWebAPI(hc, srv.URL+"/api/")}
	var r statusAnswer
	if err := a.postForm(context.Background(), "chat.postMessage", []string{"channel", "D1", "text", "x"}, &r); err != nil || !r.Ok {
		t.Fatalf("%+v %v", r, err)
	}
	if proto != "HTTP/2.0" || accepted != "" {
		t.Fatalf("%s, Accept-Encoding %q", proto, accepted)
	}
}
