package teams_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/bot/teams/teamstest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

const (
	appID  = "11111111-aaaa-4bbb-8ccc-000000000b07"
	tenant = "22222222-aaaa-4bbb-8ccc-00000000fe11"
)

type env struct {
	h    *storetest.Harness
	bf   *teamstest.BotFramework
	a    *teams.Adapter
	srv  *httptest.Server
	seq  int
	totp string
}

func setup(t testing.TB) *env {
	e := &env{h: storetest.New(t), bf: teamstest.Start(t, appID)}
	e.h.Dir.Add(storetest.Alice)
	e.totp = e.h.Enrol(storetest.Alice.ID)
	var err error
	e.a, err = teams.New(teams.Config{AppID: appID, AppSecret: "bot-secret", TenantID: tenant, AllowedTenants: []string{tenant},
		ServiceHosts: []string{"127.0.0.1"}, Metadata: e.bf.URL() + "/openid", TokenURL: e.bf.URL() + "/token"},
		e.h.Engine, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"),
		teams.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) claims(serviceURL string) jwt.MapClaims {
	now := e.h.Clock.Now()
	return jwt.MapClaims{"iss": teams.BotFrameworkIssuer, "aud": appID, "serviceurl": serviceURL,
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
}

func (e *env) activity(typ, text string, value any) map[string]any {
	e.seq++
	a := map[string]any{"type": typ, "id": "act-" + strings.Repeat("x", e.seq), "serviceUrl": e.bf.URL(), "channelId": "msteams",
		"from":         map[string]any{"id": "29:alice", "name": "Alice", "aadObjectId": storetest.Alice.ID},
		"recipient":    map[string]any{"id": "28:" + appID},
		"conversation": map[string]any{"id": "a:conv-alice", "conversationType": "personal", "tenantId": tenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": tenant}}, "text": text, "locale": "en-US"}
	if value != nil {
		a["value"] = value
	}
	return a
}

// send posts an activity with an Authorization header and waits for its work.
func (e *env) send(t *testing.T, auth string, act map[string]any) int {
	t.Helper()
	b, _ := json.Marshal(act)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/messages", bytes.NewReader(b))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	e.a.Wait()
	return resp.StatusCode
}

func (e *env) valid(t *testing.T, act map[string]any) int {
	return e.send(t, "Bearer "+e.bf.Token(t, "k1", nil, e.claims(act["serviceUrl"].(string))), act)
}

func lastCard(t *testing.T, bf *teamstest.BotFramework) (string, []map[string]any) {
	t.Helper()
	ps := bf.Posts()
	if len(ps) == 0 {
		t.Fatal("no reply")
	}
	att := ps[len(ps)-1].Activity["attachments"].([]any)[0].(map[string]any)
	card := att["content"].(map[string]any)
	var text []string
	for _, b := range card["body"].([]any) {
		text = append(text, b.(map[string]any)["text"].(string))
	}
	var actions []map[string]any
	if as, ok := card["actions"].([]any); ok {
		for _, a := range as {
			actions = append(actions, a.(map[string]any))
		}
	}
	return strings.Join(text, "\n"), actions
}

func submit(t *testing.T, actions []map[string]any, title string) map[string]any {
	t.Helper()
	for _, a := range actions {
		if a["type"] == "Action.Submit" && strings.Contains(a["title"].(string), title) {
			return a["data"].(map[string]any)
		}
	}
	t.Fatalf("no %q in %v", title, actions)
	return nil
}

func TestConversationOverTeams(t *testing.T) {
	e := setup(t)
	if code := e.valid(t, e.activity("message", "I'm locked out", nil)); code != 200 {
		t.Fatalf("status %d", code)
	}
	text, actions := lastCard(t, e.bf)
	if !strings.Contains(text, "proof") || e.bf.Posts()[0].Auth != "Bearer outbound-token" || e.bf.Posts()[0].Conversation != "a:conv-alice" {
		t.Fatalf("first reply %q %+v", text, e.bf.Posts()[0])
	}
	e.valid(t, e.activity("message", "", submit(t, actions, "Authenticator")))
	e.h.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(e.totp, e.h.Clock.Now())
	e.valid(t, e.activity("message", code, nil))
	_, actions = lastCard(t, e.bf)
	e.valid(t, e.activity("message", "", submit(t, actions, "Email")))
	e.valid(t, e.activity("message", storetest.CodeFrom(t, e.h.Mail.Last()), nil))
	_, actions = lastCard(t, e.bf)
	link := ""
	for _, a := range actions {
		if a["type"] == "Action.OpenUrl" {
			link = a["url"].(string)
		}
	}
	if !strings.HasPrefix(link, "https://bot.test/l/") {
		t.Fatalf("no link: %v", actions)
	}
	if err := e.h.Engine.ResetPassword(context.Background(), link[strings.LastIndex(link, "/")+1:], "Sunny-Meadow-42", "Sunny-Meadow-42"); err != nil {
		t.Fatal(err)
	}
	if e.h.Dir.Passwords[storetest.Alice.ID] != "Sunny-Meadow-42" {
		t.Fatal("password not set")
	}
}

// Every token that fails a requirement of the Bot Framework's authentication page is refused
// with 403, as the page asks (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#connector-to-bot).
func TestTokenFailures(t *testing.T) {
	e := setup(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	e.bf.AddKey(t, "web", "webchat")
	act := e.activity("message", "reset", nil)
	su := act["serviceUrl"].(string)
	mod := func(f func(jwt.MapClaims)) jwt.MapClaims { c := e.claims(su); f(c); return c }
	foreign := e.activity("message", "reset", nil)
	foreign["channelData"] = map[string]any{"tenant": map[string]any{"id": "33333333-0000-4000-8000-000000000000"}}
	cases := []struct {
		name string
		auth string
		act  map[string]any
		want int
	}{
		{"missing header", "", act, 403},
		{"not bearer", "Basic abc", act, 403},
		{"bad signature", "Bearer " + e.bf.Token(t, "k1", other, e.claims(su)), act, 403},
		{"unknown key", "Bearer " + e.bf.Token(t, "k9", other, e.claims(su)), act, 403},
		{"tenant-issued Entra token", "Bearer " + e.bf.Token(t, "k1", nil, mod(func(c jwt.MapClaims) { c["iss"] = "https://login.microsoftonline.com/" + tenant + "/v2.0" })), act, 403},
		{"wrong audience", "Bearer " + e.bf.Token(t, "k1", nil, mod(func(c jwt.MapClaims) { c["aud"] = "someone-else" })), act, 403},
		{"expired beyond leeway", "Bearer " + e.bf.Token(t, "k1", nil, mod(func(c jwt.MapClaims) { c["exp"] = e.h.Clock.Now().Add(-6 * time.Minute).Unix() })), act, 403},
		{"RS384, which the metadata does not name", "Bearer " + e.bf.TokenWith(t, jwt.SigningMethodRS384, "k1", nil, e.claims(su)), act, 403},
		{"serviceUrl mismatch", "Bearer " + e.bf.Token(t, "k1", nil, mod(func(c jwt.MapClaims) { c["serviceurl"] = "https://smba.trafficmanager.net/emea/" })), act, 403},
		{"no msteams endorsement", "Bearer " + e.bf.Token(t, "web", nil, e.claims(su)), act, 403},
		{"foreign tenant", "Bearer " + e.bf.Token(t, "k1", nil, e.claims(su)), foreign, 403},
	}
	for _, c := range cases {
		if got := e.send(t, c.auth, c.act); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if n := len(e.bf.Posts()); n != 0 || len(e.h.Dir.TakeCalls()) != 0 {
		t.Fatalf("a refused request ran: %d posts", n)
	}
	// expired within the leeway passes
	if got := e.send(t, "Bearer "+e.bf.Token(t, "k1", nil, mod(func(c jwt.MapClaims) { c["exp"] = e.h.Clock.Now().Add(-4 * time.Minute).Unix() })), act); got != 200 {
		t.Fatalf("within leeway: %d", got)
	}
}

func TestRotatedKeyIsFetched(t *testing.T) {
	e := setup(t)
	e.valid(t, e.activity("message", "help", nil)) // caches k1
	e.bf.AddKey(t, "k2", "msteams")
	act := e.activity("message", "help", nil)
	if got := e.send(t, "Bearer "+e.bf.Token(t, "k2", nil, e.claims(act["serviceUrl"].(string))), act); got != 200 {
		t.Fatalf("rotated key: %d", got)
	}
}

func TestServiceURLOffTheAllowListGetsNoCall(t *testing.T) {
	e := setup(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the bot called an unlisted serviceUrl: %s", r.URL)
	}))
	defer evil.Close()
	act := e.activity("message", "reset", nil)
	act["serviceUrl"] = strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	if got := e.send(t, "Bearer "+e.bf.Token(t, "k1", nil, e.claims(act["serviceUrl"].(string))), act); got != 200 {
		t.Fatalf("status %d", got)
	}
	if _, err := e.h.Store.GetRef(context.Background(), storetest.Alice.ID); err == nil {
		t.Fatal("a reference to an unlisted serviceUrl was stored")
	}
}

func TestInstallationThenProactiveMessageWithRetry(t *testing.T) {
	e := setup(t)
	inst := e.activity("conversationUpdate", "", nil)
	inst["membersAdded"] = []any{map[string]any{"id": "28:" + appID}}
	if got := e.valid(t, inst); got != 200 {
		t.Fatalf("install: %d", got)
	}
	if len(e.bf.Posts()) != 0 {
		t.Fatal("installation answered")
	}
	// Alice has not registered after all: a reminder campaign reaches her through Teams
	if err := e.h.Store.Remove(context.Background(), storetest.Alice.ID, flows.MethodTOTP); err != nil {
		t.Fatal(err)
	}
	fwd := &forward{to: e.a}
	e.h.Deps.Notifier = fwd
	e.h.Rebuild()
	e.bf.Fail(429, 502)
	before := e.h.Clock.Now()
	r := flows.NewReminders(e.h.Engine, e.h.Store, e.h.Dir, e.a)
	if n, err := r.Plan(context.Background()); err != nil || n != 1 {
		t.Fatalf("planned %d %v", n, err)
	}
	if _, err := r.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	ps := e.bf.Posts()
	if len(ps) != 1 || ps[0].Conversation != "a:conv-alice" || r.Sent.Load() != 1 {
		t.Fatalf("posts %+v, sent %d", ps, r.Sent.Load())
	}
	if text, actions := lastCard(t, e.bf); !strings.Contains(text, "haven't set up") || len(actions) != 2 {
		t.Fatalf("reminder card %q %v", text, actions)
	}
	if waited := e.h.Clock.Now().Sub(before); waited < 6*time.Second {
		t.Fatalf("waited %s for two Retry-After: 3", waited)
	}
	targets, _ := e.a.Targets(context.Background())
	if _, ok := targets[strings.ToLower(storetest.Alice.ID)]; !ok {
		t.Fatalf("roster %v", targets)
	}
}

func TestBlockedOnSlackIsBlockedOnTeams(t *testing.T) {
	e := setup(t)
	for i := 0; i < e.h.Policy.Limits.FailMax; i++ {
		rs := e.h.Say("slack-chat", storetest.Alice.Mail, "reset")
		rs = e.h.Click("slack-chat", storetest.Alice.Mail, storetest.Choice(t, rs, "Authenticator"))
		e.h.Say("slack-chat", storetest.Alice.Mail, "000000")
	}
	e.valid(t, e.activity("message", "I'm locked out", nil))
	if text, _ := lastCard(t, e.bf); !strings.Contains(text, "helpdesk") {
		t.Fatalf("teams after a block elsewhere: %q", text)
	}
}

func TestAdminCommandsAsMessages(t *testing.T) {
	e := setup(t)
	e.valid(t, e.activity("message", "policy show", nil))
	if text, _ := lastCard(t, e.bf); !strings.Contains(text, "only bot admins") {
		t.Fatalf("non-admin: %q", text)
	}
}

// The app package's bot-admin suggestions are commands flows lists (and so routes and handles);
// every other suggestion is a person's own words.
func TestCommandListAdminWordsAreFlows(t *testing.T) {
	admin := 0
	for _, c := range teams.Commands {
		first, _, _ := strings.Cut(c.Title, " ")
		isAdmin := strings.HasPrefix(c.Description, "Bot admins:")
		if isAdmin != flows.IsAdminWord(first) {
			t.Errorf("command %q (%q): bot-admin description %v, flows admin word %v", c.Title, c.Description, isAdmin, flows.IsAdminWord(first))
		}
		if isAdmin {
			admin++
		}
	}
	if admin == 0 {
		t.Fatal("the package suggests no bot-admin command")
	}
}

// forward lets the engine reach an adapter built after it.
type forward struct{ to flows.Notifier }

func (f *forward) Notify(ctx context.Context, c flows.ChatRef, r []flows.Reply) error {
	return f.to.Notify(ctx, c, r)
}

// The start-up check names a refused client secret as the token endpoint answers it, and the
// fake connector refuses a reply without the token that endpoint issued.
func TestCheckAndConnectorAuthAsDocumented(t *testing.T) {
	e := setup(t)
	if p := e.a.Check(context.Background()); len(p) != 0 {
		t.Fatalf("good credentials: %q", p)
	}
	bad, err := teams.New(teams.Config{AppID: appID, AppSecret: "expired-secret", TenantID: tenant, AllowedTenants: []string{tenant},
		ServiceHosts: []string{"127.0.0.1"}, Metadata: e.bf.URL() + "/openid", TokenURL: e.bf.URL() + "/token"},
		e.h.Engine, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"), teams.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	if p := bad.Check(context.Background()); len(p) != 1 || !strings.Contains(p[0], "invalid_client, HTTP 401") || !strings.Contains(p[0], "TEAMS_APP_PASSWORD") {
		t.Fatalf("bad secret: %q", p)
	}
	resp, err := http.Post(e.bf.URL()+"/v3/conversations/c1/activities", "application/json", strings.NewReader(`{"type":"message"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(e.bf.Posts()) != 0 {
		t.Fatalf("connector without a token: %d", resp.StatusCode)
	}
}

// The help card points at the recovery page, for the day Teams cannot be opened.
func TestHelpCardLinksTheRecoveryPage(t *testing.T) {
	e := setup(t)
	if code := e.valid(t, e.activity("message", "help", nil)); code != 200 {
		t.Fatalf("status %d", code)
	}
	if text, _ := lastCard(t, e.bf); !strings.Contains(text, "https://bot.test/recover") {
		t.Fatalf("help card %q", text)
	}
}
