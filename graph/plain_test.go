package graph_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
)

// seen records the requests graphtest receives: "METHOD path" with its headers and arrival.
type seen struct {
	mu   sync.Mutex
	reqs []seenReq
}

type seenReq struct {
	route  string
	header http.Header
	at     time.Time
}

func record(tn *graphtest.Tenant) *seen {
	s := &seen{}
	tn.Hold = func(r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, seenReq{r.Method + " " + r.URL.Path, r.Header.Clone(), time.Now()})
		s.mu.Unlock()
	}
	return s
}

// of returns the recorded requests whose route contains match.
func (s *seen) of(match string) []seenReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenReq
	for _, r := range s.reqs {
		if strings.Contains(r.route, match) {
			out = append(out, r)
		}
	}
	return out
}

// A plain request (the sign-out, the look-up batch) carries the headers the SDK's middleware
// writes on the SDK's own requests: the same SdkVersion and User-Agent, and a client-request-id
// GUID of its own.
func TestPlainRequestsSendTheSDKsHeaders(t *testing.T) {
	tn, d := setup(t)
	s := record(tn)
	ctx := context.Background()
	id := "a11ce000-0000-4000-8000-000000000001"
	if _, err := d.ContactMethods(ctx, id); err != nil { // through the SDK
		t.Fatal(err)
	}
	if err := d.RevokeSessions(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: id}); err != nil {
		t.Fatal(err)
	}
	sdk := s.of("/phoneMethods")
	if len(sdk) != 1 {
		t.Fatalf("%d phone method reads", len(sdk))
	}
	// the SDK's requests and the plain ones ask for answers as they are (the default client)
	for _, r := range s.of("/") {
		if v := r.header.Values("Accept-Encoding"); len(v) != 0 {
			t.Errorf("%s: Accept-Encoding %q", r.route, v)
		}
	}
	want := sdk[0].header
	if !strings.Contains(want.Get("SdkVersion"), "graph-go-core/") || !strings.HasPrefix(want.Get("User-Agent"), "kiota-go/") {
		t.Fatalf("the SDK's headers: %v", want)
	}
	ids := map[string]bool{want.Get("client-request-id"): true}
	for _, route := range []string{"/revokeSignInSessions", "POST /v1.0/$batch"} {
		got := s.of(route)
		if len(got) != 1 {
			t.Fatalf("%s: %d requests", route, len(got))
		}
		h := got[0].header
		for _, k := range []string{"SdkVersion", "User-Agent"} {
			if h.Get(k) != want.Get(k) || len(h[http.CanonicalHeaderKey(k)]) != 1 {
				t.Errorf("%s: %s %q, the SDK sends %q", route, k, h[http.CanonicalHeaderKey(k)], want.Get(k))
			}
		}
		cid := h.Get("client-request-id")
		if u, err := uuid.Parse(cid); err != nil || u.Version() != 4 || ids[cid] {
			t.Errorf("%s: client-request-id %q (%v), one of %v", route, cid, err, ids)
		}
		ids[cid] = true
		if !strings.HasPrefix(h.Get("Authorization"), "Bearer ") || h.Get("Accept") != "application/json" {
			t.Errorf("%s: headers %v", route, h)
		}
	}
}

// The plain requests are retried on 429, 503 and 504 by the SDK's retry handler: after the
// time Retry-After says, with Retry-Attempt and the same client-request-id, the body sent
// again whole; the retried request succeeds.
func TestPlainRequestsAreRetried(t *testing.T) {
	tn, d := setup(t)
	s := record(tn)
	ctx := context.Background()
	id := "a11ce000-0000-4000-8000-000000000001"
	tn.FailNext("POST /v1.0/$batch", http.StatusServiceUnavailable, "1")
	a, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: id})
	if err != nil || a.ID != id {
		t.Fatalf("%+v %v", a, err)
	}
	tn.FailNext("/revokeSignInSessions", http.StatusTooManyRequests, "0")
	tn.FailNext("/revokeSignInSessions", http.StatusGatewayTimeout, "0")
	if err := d.RevokeSessions(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ch := tn.Changes(); len(ch) != 1 || ch[0].Kind != "revoke" {
		t.Fatalf("changes %+v", ch)
	}
	batches, revokes := s.of("POST /v1.0/$batch"), s.of("/revokeSignInSessions")
	if len(batches) != 2 || len(revokes) != 3 {
		t.Fatalf("%d batches, %d sign-outs: want the 503 and a retry, the 429, the 504 and a retry", len(batches), len(revokes))
	}
	if wait := batches[1].at.Sub(batches[0].at); wait < time.Second {
		t.Errorf("the batch was retried after %v, Retry-After said 1 s", wait)
	}
	for _, rs := range [][]seenReq{batches, revokes} {
		for i, r := range rs {
			if want := map[bool]string{true: "", false: string(rune('0' + i))}[i == 0]; r.header.Get("Retry-Attempt") != want {
				t.Errorf("%s attempt %d: Retry-Attempt %q", r.route, i, r.header.Get("Retry-Attempt"))
			}
			if r.header.Get("client-request-id") != rs[0].header.Get("client-request-id") {
				t.Errorf("%s attempt %d: another client-request-id", r.route, i)
			}
		}
	}
	// the retried batch was answered: its reads arrived after the second attempt
	if n := tn.Calls()["GET /v1.0/users/{id}"]; n != 1 {
		t.Fatalf("%d reads of the user", n)
	}
}

// lingering is a transport that behaves as net/http's may: it answers the first attempt 429
// after reading only the bytes ContentLength announced, and reads the rest of that body (to its
// end, as net/http's writer checks for extra bytes) only once the next attempt has arrived,
// which is allowed (a RoundTripper may read and close the body after RoundTrip returns). It
// records the body each attempt read.
type lingering struct {
	mu     sync.Mutex
	first  io.ReadCloser
	bodies []string
}

func (l *lingering) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.first == nil {
		b, _ := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
		l.bodies = append(l.bodies, string(b))
		l.first = r.Body
		return &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}},
			Body: http.NoBody, Request: r}, nil
	}
	_, _ = io.Copy(io.Discard, l.first) // the first attempt's writer, late
	l.first.Close()
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	l.bodies = append(l.bodies, string(b))
	return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// A password change retried after a 429 sends its whole body again even when the transport
// reads the first attempt's body late.
func TestRetriedBodyIsWholeWhenTheTransportReadsLate(t *testing.T) {
	l := &lingering{}
	d, err := graph.New(graph.Config{BaseURL: "https://graph.microsoft.com/v1.0", Credential: staticToken{}, Transport: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(context.Background(), "a11ce000-0000-4000-8000-000000000001", "Granite-Orchid-Lantern-8", false); err != nil {
		t.Fatal(err)
	}
	if len(l.bodies) != 2 || l.bodies[1] != l.bodies[0] || !strings.Contains(l.bodies[1], "Granite-Orchid-Lantern-8") {
		t.Fatalf("bodies sent: %q", l.bodies)
	}
}

// closing is a transport that records whether each answer's body was closed.
type closing struct {
	next   http.RoundTripper
	mu     sync.Mutex
	bodies []*tracked
}

type tracked struct {
	io.ReadCloser
	route  string
	status int
	closed bool
}

func (b *tracked) Close() error { b.closed = true; return b.ReadCloser.Close() }

func (c *closing) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		b := &tracked{ReadCloser: resp.Body, route: r.Method + " " + r.URL.Path, status: resp.StatusCode}
		resp.Body = b
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
	}
	return resp, err
}

// An answer the retry handler tries again after (429, 503, 504) is closed, so its connection
// serves the next request: the handler itself drops it unclosed. Plain requests and the SDK's.
func TestThrottledAnswersAreClosed(t *testing.T) {
	tn := graphtest.New()
	graphtest.DemoUsers(tn)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	tr := &closing{next: http.DefaultTransport.(*http.Transport).Clone()}
	d, err := graph.New(graph.Config{BaseURL: tn.GraphURL(), Transport: tr,
		Credential: graph.NewClientCredential(tn.TokenURL(), tn.ClientID, tn.ClientSecret, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "a11ce000-0000-4000-8000-000000000001"
	tn.FailNext("/revokeSignInSessions", http.StatusTooManyRequests, "0")
	tn.FailNext("/revokeSignInSessions", http.StatusServiceUnavailable, "0")
	if err := d.RevokeSessions(ctx, id); err != nil {
		t.Fatal(err)
	}
	tn.FailNext("/phoneMethods", http.StatusGatewayTimeout, "0")
	if _, err := d.ContactMethods(ctx, id); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	throttled := 0
	for _, b := range tr.bodies {
		if b.status >= 500 || b.status == http.StatusTooManyRequests {
			throttled++
		}
		if !b.closed {
			t.Errorf("%s: the %d answer's body was left open", b.route, b.status)
		}
	}
	if throttled != 3 {
		t.Fatalf("%d throttled answers, want 3", throttled)
	}
}

// writeCounter counts the writes on the connections a transport dials.
type writeCounter struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCounter) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// A plain request with a body (the look-up batch, the password PATCH) goes out in one write,
// its headers and body together, as one without a body does: net/http writes the headers of a
// body it does not know to be in memory on their own first, a write (and a packet) more per
// request.
func TestPlainRequestsGoOutInOneWrite(t *testing.T) {
	tn := graphtest.New()
	graphtest.DemoUsers(tn)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	tn.Strict(t)
	var writes, requests atomic.Int64
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{c, &writes}, nil
	}
	d, err := graph.New(graph.Config{BaseURL: tn.GraphURL(), Transport: countingTransport{tr, &requests},
		Credential: graph.NewClientCredential(tn.TokenURL(), tn.ClientID, tn.ClientSecret, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "a11ce000-0000-4000-8000-000000000001"
	if _, err := d.Lookup(ctx, flows.Claim{Kind: flows.ClaimObjectID, Value: id}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, id, "Granite-Orchid-Lantern-8", false); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeSessions(ctx, id); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 3 || writes.Load() != requests.Load() {
		t.Fatalf("%d writes for %d requests", writes.Load(), requests.Load())
	}
}
