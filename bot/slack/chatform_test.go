package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/allocs"
)

// sentRequest is what a Web API call put on the wire.
type sentRequest struct{ Method, Path, ContentType, Auth, Body string }

// slackAnswer is what the scripted Slack API answers.
type slackAnswer struct {
	name, retryAfter, body string
	status                 int
}

// scripted is a Slack API that answers every call with the current answer and keeps the last
// request, so slack-go's request and ours can be compared.
type scripted struct {
	*httptest.Server
	mu   sync.Mutex
	cur  slackAnswer
	last sentRequest
}

func startScripted(t *testing.T) *scripted {
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.last = sentRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)}
		ans := s.cur
		s.mu.Unlock()
		if ans.retryAfter != "" {
			w.Header().Set("Retry-After", ans.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ans.status)
		_, _ = io.WriteString(w, ans.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) answer(a slackAnswer) { s.mu.Lock(); s.cur = a; s.mu.Unlock() }
func (s *scripted) sent() sentRequest    { s.mu.Lock(); defer s.mu.Unlock(); return s.last }

// TestChatFormMatchesSlackGo: chatForm sends chat.postMessage and chat.update byte for byte as
// slack-go's PostMessageContext and UpdateMessageContext did, and turns every kind of answer
// (ok, ok false with details, 429 with and without a usable Retry-After, other statuses, a body
// that is not JSON) into the same error, of the same type: call's 429 handling depends on it.
func TestChatFormMatchesSlackGo(t *testing.T) {
	answers := []slackAnswer{
		{"ok", "", `{"ok":true,"channel":"D1","ts":"1700000000.000001","message":{"type":"message","text":"x","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"x"}}]}}`, 200},
		{"warning", "", `{"ok":true,"warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]}}`, 200},
		{"refused", "", `{"ok":false,"error":"invalid_blocks","errors":["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],"response_metadata":{"messages":["[ERROR] too long"]}}`, 200},
		{"scope", "", `{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"users:read"}`, 200},
		{"ok false blank", "", `{"ok":false}`, 200},
		{"rate limited", "3", `{"ok":false,"error":"ratelimited"}`, 429},
		{"429 no retry", "", `{"ok":false,"error":"ratelimited"}`, 429},
		{"429 bad retry", "soon", ``, 429},
		{"server error", "", `<html>oops</html>`, 503},
		{"not json", "", `<html>`, 200},
		{"empty", "", ``, 200},
		{"escaped error", "", `{"ok":false,"error":"bad\u0021 \"q\"","message":{"text":"\\ \u00e9"}}`, 200},
		{"ok not a boolean", "", `{"ok":"yes","error":"x"}`, 200},
		{"error not a string", "", `{"ok":false,"error":5}`, 200},
		{"an array", "", `[{"ok":false,"error":"x"}]`, 200},
		{"null", "", `null`, 200},
		{"more after", "", `{"ok":false,"error":"first"} {"ok":true}`, 200},
		{"cut short", "", `{"ok":false,"error":"x","message":{"blocks":[`, 200},
		{"errors not a list", "", `{"ok":false,"error":"x","errors":{"a":1}}`, 200},
		{"keys other case", "", `{"OK":false,"Error":"invalid_blocks","Needed":"chat:write"}`, 200},
	}
	srv := startScripted(t)

	const token = "xoxb-1-2-abc"
	api := slackapi.New(token, slackapi.OptionAPIURL(srv.URL+"/"), slackapi.OptionHTTPClient(srv.Client()))
	a := &Adapter{cfg: Config{BotToken: token}, web: newWebAPI(srv.Client(), srv.URL+"/")}
	msgs := Messages("en", []flows.Reply{
		{Text: "Pick how to prove it's you & <go>:", Choices: []flows.Choice{{ID: "s1:3:totp", Label: "Authenticator app", Key: "1"}, {ID: "s1:3:email", Label: "Email code", Key: "2"}}},
		{Text: "Open the page:", Link: "https://bot.example/l/abc?x=1&y=2"},
	})
	if len(msgs) != 1 || len(msgs[0].Blocks) < 3 {
		t.Fatalf("messages: %+v", msgs)
	}
	m := msgs[0]
	kept := keptBlocks(nil)
	kept = append(kept, slackapi.NewContextBlock("chosen", slackapi.NewTextBlockObject(slackapi.PlainTextType, "You chose: 1. Authenticator app", false, false)))

	calls := []struct {
		name     string
		old, new func(ctx context.Context) error
	}{
		{"chat.postMessage",
			func(ctx context.Context) error {
				_, _, err := api.PostMessageContext(ctx, "D1", slackapi.MsgOptionText(m.Text, false), slackapi.MsgOptionBlocks(m.Blocks...),
					slackapi.MsgOptionDisableLinkUnfurl(), slackapi.MsgOptionDisableMediaUnfurl())
				return err
			},
			func(ctx context.Context) error {
				return a.chatForm(ctx, "chat.postMessage", []string{"channel", "D1", "text", m.Text,
					"unfurl_links", "false", "unfurl_media", "false"}, m.Blocks)
			}},
		{"chat.update",
			func(ctx context.Context) error {
				_, _, _, err := api.UpdateMessageContext(ctx, "D1", "1700000000.000001", slackapi.MsgOptionText("You chose: 1. Authenticator app", false), slackapi.MsgOptionBlocks(kept...))
				return err
			},
			func(ctx context.Context) error {
				return a.chatForm(ctx, "chat.update", []string{"channel", "D1", "ts", "1700000000.000001", "text", "You chose: 1. Authenticator app"}, kept)
			}},
	}
	describe := func(err error) string {
		var rl *slackapi.RateLimitedError
		if errors.As(err, &rl) {
			return fmt.Sprintf("rate limited %s", rl.RetryAfter)
		}
		if d, ok := typeError(err); ok {
			return d
		}
		return fmt.Sprintf("%T %v", err, err)
	}
	ctx := context.Background()
	for _, c := range calls {
		for _, ans := range answers {
			srv.answer(ans)
			oldErr := c.old(ctx)
			oldReq := srv.sent()
			newErr := c.new(ctx)
			newReq := srv.sent()
			if oldReq != newReq {
				t.Errorf("%s, %s: sent\n %+v\nslack-go sent\n %+v", c.name, ans.name, newReq, oldReq)
			}
			if describe(oldErr) != describe(newErr) {
				t.Errorf("%s, %s: error %s, slack-go's %s", c.name, ans.name, describe(newErr), describe(oldErr))
			}
		}
	}
}

// typeError describes a value of the wrong type in an answer by the JSON value and the member
// (the Go types it was read into differ: slack-go's answer types are its own).
func typeError(err error) (string, bool) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return "", false
	}
	return fmt.Sprintf("*json.UnmarshalTypeError: %s at offset %d into %q", te.Value, te.Offset, te.Field), true
}

// encodeForm writes what url.Values.Encode writes, for every byte in names and values.
func TestEncodeFormMatchesURLValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	word := func() string {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = all[rng.IntN(len(all))]
		}
		const tail = "é 日本 &=+%"
		return string(b) + tail[:rng.IntN(len(tail)+1)]
	}
	for range 2000 {
		var pairs []string
		vals := url.Values{}
		for range 1 + rng.IntN(7) {
			k, v := word(), word()
			if _, dup := vals[k]; dup {
				continue
			}
			pairs = append(pairs, k, v)
			vals.Set(k, v)
		}
		if got, want := string(encodeForm(pairs)), vals.Encode(); got != want {
			t.Fatalf("encodeForm(%q) = %q, url.Values.Encode %q", pairs, got, want)
		}
	}
	blocks := strings.Repeat(`{"type":"section","text":{"type":"mrkdwn","text":"Pick one & <go>"}},`, 20)
	form := []string{"text", "Pick", "channel", "D1", "unfurl_links", "false", "unfurl_media", "false", "blocks", blocks, "token", "xoxb-1"}
	if n := allocs.Min(20, func() { _ = encodeForm(form) }); n != 1 {
		t.Fatalf("%v allocations, want 1", n)
	}
}

// personOf is what the adapter kept of slack-go's users.info answer.
func personOf(u *slackapi.User) person {
	return person{Locale: u.Locale, TZ: u.TZ, TeamID: u.TeamID, Email: u.Profile.Email, Deleted: u.Deleted, IsBot: u.IsBot,
		Restricted: u.IsRestricted || u.IsUltraRestricted, Stranger: u.IsStranger, EmailConfirmed: u.IsEmailConfirmed}
}

// TestUserInfoMatchesSlackGo: userInfo sends users.info byte for byte as slack-go's
// GetUserInfoContext does and reads the same person, or gives the same error, from every kind
// of answer (users.info's documented fields, its errors, 429s, other statuses, bodies that are
// not JSON).
func TestUserInfoMatchesSlackGo(t *testing.T) {
	full := `{"ok":true,"user":{"id":"U1","team_id":"T1","name":"ana","deleted":false,"color":"9f69e7","real_name":"Ana",` +
		`"tz":"Europe/Berlin","tz_label":"Central European Time","tz_offset":3600,"profile":{"avatar_hash":"ge3b51ca72de",` +
		`"status_text":"Lunch","status_emoji":":sandwich:","real_name":"Ana","display_name":"ana","email":"Ana@Example.com",` +
		`"image_24":"https://x/a.png","team":"T1"},"is_admin":true,"is_owner":false,"is_primary_owner":false,` +
		`"is_restricted":false,"is_ultra_restricted":false,"is_bot":false,"is_app_user":false,"updated":1502138686,` +
		`"is_email_confirmed":true,"has_2fa":false,"locale":"de-DE"}}`
	answers := []slackAnswer{
		{"full", "", full, 200},
		{"guest", "", `{"ok":true,"user":{"id":"U2","team_id":"T1","is_restricted":true,"profile":{"email":"g@x.org"},"is_email_confirmed":true}}`, 200},
		{"single-channel guest", "", `{"ok":true,"user":{"id":"U2","is_ultra_restricted":true,"locale":"ja-JP"}}`, 200},
		{"stranger", "", `{"ok":true,"user":{"id":"U3","team_id":"T9","is_stranger":true,"tz":null}}`, 200},
		{"bot", "", `{"ok":true,"user":{"id":"B1","is_bot":true,"deleted":true}}`, 200},
		{"not found", "", `{"ok":false,"error":"user_not_found"}`, 200},
		{"scope", "", `{"ok":false,"error":"missing_scope","needed":"users:read","provided":"chat:write","response_metadata":{"messages":["x"]}}`, 200},
		{"rate limited", "7", `{"ok":false,"error":"ratelimited"}`, 429},
		{"429 bad retry", "later", ``, 429},
		{"server error", "", `<html>oops</html>`, 500},
		{"not json", "", `<html>`, 200},
		{"empty", "", ``, 200},
		{"user not an object", "", `{"ok":true,"user":"U1"}`, 200},
		{"locale not a string", "", `{"ok":true,"user":{"id":"U1","locale":5}}`, 200},
		{"escaped email", "", `{"ok":true,"user":{"id":"U1","is_email_confirmed":true,"profile":{"email":"a\u0040b.example"}}}`, 200},
		{"more after", "", `{"ok":true,"user":{"id":"U1","locale":"fr-FR"}} x`, 200},
		{"keys other case", "", `{"OK":true,"User":{"id":"U1","Locale":"fr-FR","IS_EMAIL_CONFIRMED":true,"Profile":{"EMAIL":"a@b.example"}}}`, 200},
		{"null fields", "", `{"ok":true,"user":{"id":"U1","team_id":null,"deleted":null,"tz":null,"profile":null,"locale":null}}`, 200},
		{"deleted not a boolean", "", `{"ok":true,"user":{"id":"U1","deleted":"no"}}`, 200},
		{"profile not an object", "", `{"ok":true,"user":{"id":"U1","profile":"x"}}`, 200},
		{"email not a string", "", `{"ok":true,"user":{"id":"U1","profile":{"email":["a@b.example"]}}}`, 200},
	}
	srv := startScripted(t)

	const token = "xoxb-1-2-abc"
	api := slackapi.New(token, slackapi.OptionAPIURL(srv.URL+"/"), slackapi.OptionHTTPClient(srv.Client()))
	a := &Adapter{cfg: Config{BotToken: token}, web: newWebAPI(srv.Client(), srv.URL+"/")}
	describe := func(p person, err error) string {
		var rl *slackapi.RateLimitedError
		if errors.As(err, &rl) {
			return fmt.Sprintf("rate limited %s", rl.RetryAfter)
		}
		if d, ok := typeError(err); ok {
			return d
		}
		if err != nil {
			return fmt.Sprintf("%T %v", err, err)
		}
		return fmt.Sprintf("%+v", p)
	}
	ctx := context.Background()
	for _, ans := range answers {
		srv.answer(ans)
		u, oldErr := api.GetUserInfoContext(ctx, "U1 &x")
		var old person
		if oldErr == nil {
			old = personOf(u)
		}
		oldReq := srv.sent()
		p, newErr := a.userInfo(ctx, "U1 &x")
		newReq := srv.sent()
		if oldReq != newReq {
			t.Errorf("%s: sent\n %+v\nslack-go sent\n %+v", ans.name, newReq, oldReq)
		}
		if got, want := describe(p, newErr), describe(old, oldErr); got != want {
			t.Errorf("%s: %s, slack-go's %s", ans.name, got, want)
		}
	}
}
