package slack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// BenchmarkPostForm is a chat.postMessage through postForm to a local Slack API answering as
// Slack does (the echoed message), over the production client (bot.PooledClient, 30 s): the
// bot's side of a Web API call (the server's share is in the figures too, the same in both).
func BenchmarkPostForm(b *testing.B) {
	answer := `{"ok":true,"channel":"D0123ABCD","ts":"1700000000.000001","message":{"type":"message","text":"x","blocks":` + formBlocks + `}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	a := benchAdapter(bot.PooledClient(30*time.Second), srv.URL+"/")
	ctx := context.Background()
	fields := []string{"channel", "D0123ABCD", "text", "How would you like to prove it is you?", "unfurl_links", "false", "unfurl_media", "false", "blocks", formBlocks}
	b.ReportAllocs()
	for b.Loop() {
		var r statusAnswer
		if err := a.postForm(ctx, "chat.postMessage", fields, &r); err != nil || !r.Ok {
			b.Fatal(r, err)
		}
	}
}

func benchAdapter(hc *http.Client, base string) *Adapter {
	return &Adapter{cfg: Config{BotToken: "xoxb-1-2-abc"}, web: newWebAPI(hc, base)}
}

// BenchmarkFormRequest is building a Web API request: from the URL string (as postForm did)
// and from the URL parsed once.
func BenchmarkFormRequest(b *testing.B) {
	web := newWebAPI(bot.PooledClient(30*time.Second), "https://slack.com/api/")
	ctx := context.Background()
	body := []byte("channel=D0123ABCD&text=x&token=xoxb-1-2-abc")
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := http.NewRequestWithContext(ctx, http.MethodPost, web.base+"chat.postMessage", bytes.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := web.newRequest(ctx, "chat.postMessage", body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
