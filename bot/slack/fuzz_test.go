package slack_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Slack payloads, correctly signed but otherwise anything: no panic, a plain status, and
// whatever reaches the engine names the person by the email Slack confirmed for the sender,
// never by anything in the payload.
func FuzzSlackPayloads(f *testing.F) {
	msg, _ := json.Marshal(fakeslack.MessageEvent(team, "Ev1", "UALICE", "I'm locked out"))
	act, _ := json.Marshal(fakeslack.BlockAction(team, "Tr1", "UALICE", "choice:0", "m:totp|s|1", fakeslack.Post{TS: "1700000000.000001", Text: "How would you like to prove it's you?",
		Blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"How would you like to prove it's you?"}},{"type":"actions","block_id":"actions:0","elements":[{"type":"button","action_id":"choice:0","text":{"type":"plain_text","text":"Authenticator app"},"value":"m:totp|s|1"}]}]`}))
	f.Add(0, msg)
	f.Add(1, act)
	f.Add(0, []byte(`{"type":"url_verification","challenge":"abc"}`))
	f.Add(0, []byte(`{"type":"event_callback","team_id":"T0OTHER","event":{"type":"message","channel_type":"im","user":"UALICE","text":"reset"}}`))
	e := setup(f, false)
	rec := &storetest.Recorder{Engine: e.h.Engine}
	a, err := slack.New(slack.Config{BotToken: "xoxb-1-test", SigningSecret: secret, TeamIDs: []string{team}, APIURL: e.fake.GetAPIURL()},
		rec, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "error"), slack.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		f.Fatal(err)
	}
	h := a.HTTPHandler()
	f.Fuzz(func(t *testing.T, kind int, body []byte) {
		path, ctype := "/slack/events", "application/json"
		if kind%2 == 1 {
			path, ctype = "/slack/interactive", "application/x-www-form-urlencoded"
			body = []byte("payload=" + url.QueryEscape(string(body)))
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		for k, v := range slack.Sign(secret, body, e.h.Clock.Now()) {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		a.Wait()
		switch w.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d", w.Code)
		}
		for _, in := range rec.Take() {
			if in.Chat.UserID != "UALICE" || in.Chat.Tenant != team || in.Claim.Kind != flows.ClaimEmail ||
				!strings.EqualFold(in.Claim.Value, "alice@contoso.test") {
				t.Fatalf("the engine was asked for %+v", in)
			}
		}
	})
}
