package slack

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
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
	allocs := testing.AllocsPerRun(100, func() {
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
