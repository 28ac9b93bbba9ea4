package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/resetbot/resetbot/internal/allocs"
)

// A request's body of an announced length within the bound is read in one allocation, the
// body's own; a body announced larger, or of no announced length and larger, is refused with
// 413 before anything else.
func TestReadBody(t *testing.T) {
	body := bytes.Repeat([]byte("a"), 3000)
	rd := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPost, "/slack/events", nil)
	r.Body, r.ContentLength = io.NopCloser(rd), int64(len(body))
	w := httptest.NewRecorder()
	var got []byte
	allocs := allocs.Min(100, func() {
		rd.Reset(body)
		var err error
		if got, err = readBody(w, r); err != nil {
			t.Fatal(err)
		}
	})
	if !bytes.Equal(got, body) || allocs != 1 {
		t.Fatalf("read %d bytes in %v allocations", len(got), allocs)
	}

	h := (&Adapter{cfg: Config{SigningSecret: "0123456789abcdef0123"}}).HTTPHandler()
	big := bytes.Repeat([]byte("a"), maxBody+1)
	for _, announced := range []bool{true, false} {
		r := httptest.NewRequest(http.MethodPost, "/slack/events", bytes.NewReader(big))
		if !announced {
			r.ContentLength = -1 // as a chunked request's
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("announced %v: status %d", announced, w.Code)
		}
	}
}

// closeTracker is a request body that records whether the handler closed it, and when: before
// the answer's headers were written or after.
type closeTracker struct {
	io.Reader
	w           *httptest.ResponseRecorder
	closedFirst bool
	closed      bool
}

func (c *closeTracker) Close() error {
	c.closed, c.closedFirst = true, !c.w.Flushed && c.w.Body.Len() == 0 && len(c.w.Header()) == 0
	return nil
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// The handler closes a request's body once it has read it, before it answers: net/http's
// server otherwise reads a body it finds open once more when it writes the answer's headers.
func TestHandlerClosesTheReadBody(t *testing.T) {
	const secret = "0123456789abcdef0123"
	now := time.Unix(1700000000, 0)
	h := (&Adapter{cfg: Config{SigningSecret: secret}, clock: fixedClock(now)}).HTTPHandler()
	body := []byte(`{"type":"url_verification","challenge":"abc"}`)
	r := httptest.NewRequest(http.MethodPost, "/slack/events", nil)
	for k, v := range Sign(secret, body, now) {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	c := &closeTracker{Reader: bytes.NewReader(body), w: w}
	r.Body, r.ContentLength = c, int64(len(body))
	h.ServeHTTP(w, r)
	if !c.closed || !c.closedFirst || w.Code != http.StatusOK || w.Body.String() != "abc" {
		t.Fatalf("closed %v, before the answer %v; answer %d %q", c.closed, c.closedFirst, w.Code, w.Body)
	}
}

// A request's signature is checked without an allocation once the MAC is made (the pool keeps
// it): its input's head and its sum are the MAC's own buffers.
func TestSignatureCheckAllocatesNothing(t *testing.T) {
	const secret = "0123456789abcdef0123"
	body := []byte(`{"type":"event_callback"}`)
	h := Sign(secret, body, time.Unix(1700000000, 0))
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	want := make([]byte, sha256.Size)
	if !lowerHex(want, sig[3:]) {
		t.Fatal(sig)
	}
	k := &keyedMAC{secret: secret, mac: hmac.New(sha256.New, []byte(secret))}
	ok := false
	if n := allocs.Min(100, func() { ok = k.matches(ts, body, want) }); n != 0 || !ok {
		t.Fatalf("matches %v in %v allocations", ok, n)
	}
	want[0] ^= 1
	if k.matches(ts, body, want) {
		t.Fatal("another MAC matched")
	}
}

// A Web API call that succeeds costs call nothing of its own: what it keeps for a 429 is made
// only when the call failed.
func TestCallAllocatesNothingOnSuccess(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a := &Adapter{lim: newLimiter(fixedClock(now), func(context.Context, time.Duration) error { return nil })}
	ctx := context.Background()
	ok := func() error { return nil }
	_ = a.call(ctx, "users.info", ok) // the limiter's first entry for the method
	if n := allocs.Min(100, func() {
		if err := a.call(ctx, "users.info", ok); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
