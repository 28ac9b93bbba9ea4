package bot_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// gzipping is a service that compresses its answer when the request accepts gzip, as Slack's
// Web API does; it records the Accept-Encoding of the last request.
func gzipping(t testing.TB, answer string) (*httptest.Server, *string) {
	var zipped bytes.Buffer // compressed once: the figures are the client's
	gz := gzip.NewWriter(&zipped)
	_, _ = io.WriteString(gz, answer)
	_ = gz.Close()
	var accepted string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepted = r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(accepted, "gzip") {
			_, _ = io.WriteString(w, answer)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv, &accepted
}

// chatAnswer is about chat.postMessage's answer: the status and the echoed message.
var chatAnswer = `{"ok":true,"channel":"D0123ABCD","ts":"1700000000.000001","message":{"type":"message","text":"` +
	strings.Repeat("How would you like to prove it is you? ", 30) + `"}}`

// The platforms' client asks for answers as they are: no Accept-Encoding, so a service that
// compresses when asked answers uncompressed, and the answer is read as sent.
func TestPooledClientAsksForUncompressedAnswers(t *testing.T) {
	srv, accepted := gzipping(t, chatAnswer)
	resp, err := bot.PooledClient(10 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if *accepted != "" || resp.Header.Get("Content-Encoding") != "" || string(b) != chatAnswer {
		t.Fatalf("Accept-Encoding %q, answer %q %.40q", *accepted, resp.Header.Get("Content-Encoding"), b)
	}
}

// BenchmarkCompressedAnswer is a call to a service that compresses when asked (as Slack's Web
// API does), with the client net/http's default transport makes (gzip asked, the answer
// inflated) and with the bot's: the allocations are the client's and the server's together,
// the server's the same in both (its answer compressed once).
func BenchmarkCompressedAnswer(b *testing.B) {
	for _, c := range []struct {
		name string
		hc   *http.Client
	}{
		{"gzip", &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}},
		{"identity", bot.PooledClient(10 * time.Second)},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv, _ := gzipping(b, chatAnswer)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.hc.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
