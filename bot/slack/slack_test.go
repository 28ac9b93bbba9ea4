package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

const (
	team   = "T0CONTOSO"
	secret = "8f742231b10e8888abcd99yyyzzz85a5"
)

type env struct {
	h      *storetest.Harness
	fake   *fakeslack.Server
	a      *slack.Adapter
	srv    *httptest.Server
	totp   string
	events int
}

func setup(t testing.TB, socket bool) *env {
	t.Helper()
	e := &env{h: storetest.New(t), fake: fakeslack.Start(t)}
	e.h.Dir.Add(storetest.Alice)
	e.totp = e.h.Enrol(storetest.Alice.ID)
	e.fake.AddUser(fakeslack.User{ID: "UALICE", TeamID: team, Email: "Alice@contoso.test", EmailConfirmed: true})
	e.a = e.adapter(t, socket)
	e.srv = httptest.NewServer(e.a.HTTPHandler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) adapter(t testing.TB, socket bool) *slack.Adapter {
	t.Helper()
	a, err := slack.New(slack.Config{BotToken: "xoxb-1-test", AppToken: "xapp-1-test", SigningSecret: secret, Socket: socket,
		TeamIDs: []string{team}, APIURL: e.fake.GetAPIURL()}, e.h.Engine, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"),
		slack.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// event posts a signed Events API request and waits for the work it started.
func (e *env) event(t *testing.T, payload any, hdr map[string]string) int {
	t.Helper()
	body, _ := json.Marshal(payload)
	return e.signed(t, "/slack/events", "application/json", body, e.h.Clock.Now(), hdr)
}

func (e *env) signed(t *testing.T, path, ctype string, body []byte, at time.Time, hdr map[string]string) int {
	t.Helper()
	h := slack.Sign(secret, body, at)
	for k, v := range hdr {
		h.Set(k, v)
	}
	h.Set("Content-Type", ctype)
	return send(t, e.srv.URL+path, h, body, e.a)
}

// send posts body with headers h to u and waits for the work the adapter started.
func send(t *testing.T, u string, h http.Header, body []byte, a *slack.Adapter) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.Wait()
	return resp.StatusCode
}

func (e *env) click(t *testing.T, trigger, action, value string) {
	t.Helper()
	e.clickAs(t, "UALICE", trigger, action, value)
}

func (e *env) clickAs(t *testing.T, user, trigger, action, value string) {
	t.Helper()
	payload, _ := json.Marshal(fakeslack.BlockAction(team, trigger, user, action, value, e.fake.Message("D"+user, action, value)))
	body := []byte("payload=" + url.QueryEscape(string(payload)))
	if code := e.signed(t, "/slack/interactive", "application/x-www-form-urlencoded", body, e.h.Clock.Now(), nil); code != 200 {
		t.Fatalf("interactive: %d", code)
	}
}

func (e *env) say(t *testing.T, id, text string) {
	t.Helper()
	e.events++
	if code := e.event(t, fakeslack.MessageEvent(team, id, "UALICE", text), nil); code != 200 {
		t.Fatalf("event: %d", code)
	}
}

func lastPost(t *testing.T, f *fakeslack.Server, method string) fakeslack.Post {
	t.Helper()
	ps := f.Posts()
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Method == method {
			return ps[i]
		}
	}
	t.Fatalf("no %s", method)
	return fakeslack.Post{}
}

func button(t *testing.T, p fakeslack.Post, labelIndex int) (string, string) {
	t.Helper()
	bs := fakeslack.Buttons(p)
	var choices [][2]string
	for _, b := range bs {
		if strings.HasPrefix(b[0], "choice:") {
			choices = append(choices, b)
		}
	}
	if labelIndex >= len(choices) {
		t.Fatalf("no button %d in %s", labelIndex, p.Blocks)
	}
	return choices[labelIndex][0], choices[labelIndex][1]
}

// buttonText is the text of the button actionID in p.
func buttonText(t *testing.T, p fakeslack.Post, actionID string) string {
	t.Helper()
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	_ = json.Unmarshal([]byte(p.Blocks), &blocks)
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID && e.Text.Text != "" {
				return e.Text.Text
			}
		}
	}
	t.Fatalf("no button %s in %s", actionID, p.Blocks)
	return ""
}

// converse drives the whole conversation with say and click, and returns the reset link.
func converse(t *testing.T, e *env, say func(id, text string), click func(trigger, action, value string)) string {
	say("Ev1", "I'm locked out")
	p := lastPost(t, e.fake, "chat.postMessage")
	if !strings.Contains(p.Text, "proof") || p.Channel != "DUALICE" || p.Form["unfurl_links"] != "false" || p.Form["unfurl_media"] != "false" {
		t.Fatalf("first reply: %+v", p)
	}
	act, val := button(t, p, 0)
	click("Tr1", act, val)
	closed := lastPost(t, e.fake, "chat.update")
	if !strings.Contains(closed.Text, "You chose") || closed.TS != p.TS {
		t.Fatalf("buttons not closed: %+v", closed)
	}
	// the click carried the message (as Slack's payload does): the update keeps its blocks but
	// the buttons, and names the clicked button by its text
	var asked, kept []map[string]any
	if err := json.Unmarshal([]byte(p.Blocks), &asked); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(closed.Blocks), &kept); err != nil || len(kept) == 0 {
		t.Fatalf("closed blocks: %v %s", err, closed.Blocks)
	}
	asked = slices.DeleteFunc(asked, func(b map[string]any) bool { return b["type"] == "actions" })
	if len(asked) == 0 || !reflect.DeepEqual(asked, kept[:len(kept)-1]) {
		t.Fatalf("closed message lost the question: %s, asked %s", closed.Blocks, p.Blocks)
	}
	if label := buttonText(t, p, act); !strings.Contains(closed.Text, label) {
		t.Fatalf("closed message %q does not name %q", closed.Text, label)
	}
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "authenticator app") {
		t.Fatalf("after choosing: %+v", p)
	}
	e.h.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(e.totp, e.h.Clock.Now())
	say("Ev2", code)
	p = lastPost(t, e.fake, "chat.postMessage")
	act, val = button(t, p, 0)
	click("Tr2", act, val)
	p = lastPost(t, e.fake, "chat.postMessage")
	if !strings.Contains(p.Text, "p***@m****.test") || strings.Contains(p.Text+p.Blocks, "private.") {
		t.Fatalf("email step: %+v", p)
	}
	say("Ev3", storetest.CodeFrom(t, e.h.Mail.Last()))
	p = lastPost(t, e.fake, "chat.postMessage")
	var link string
	var blocks []map[string]any
	_ = json.Unmarshal([]byte(p.Blocks), &blocks)
	for _, b := range blocks {
		for _, el := range asList(b["elements"]) {
			if u, ok := el.(map[string]any)["url"].(string); ok {
				link = u
			}
		}
	}
	if !strings.HasPrefix(link, "https://bot.test/l/") {
		t.Fatalf("no link button: %s", p.Blocks)
	}
	return link
}

func asList(v any) []any { l, _ := v.([]any); return l }

func finish(t *testing.T, e *env, link string) {
	t.Helper()
	tok := link[strings.LastIndex(link, "/")+1:]
	if err := e.h.Engine.ResetPassword(context.Background(), tok, "Sunny-Meadow-42", "Sunny-Meadow-42"); err != nil {
		t.Fatal(err)
	}
	if e.h.Dir.Passwords[storetest.Alice.ID] != "Sunny-Meadow-42" {
		t.Fatal("password not set")
	}
}

func TestConversationOverHTTPEvents(t *testing.T) {
	e := setup(t, false)
	link := converse(t, e,
		func(id, text string) { e.say(t, id, text) },
		func(tr, act, val string) { e.click(t, tr, act, val) })
	finish(t, e, link)
}

func TestConversationOverSocketMode(t *testing.T) {
	e := setup(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.RunSocket(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	n := 0
	wait := func() {
		n++
		e.fake.WaitPosts(n)
		e.a.Wait()
		n = len(e.fake.Posts())
	}
	link := converse(t, e,
		func(id, text string) {
			e.fake.SendEnvelope("events_api", "env-"+id, fakeslack.MessageEvent(team, id, "UALICE", text))
			wait()
		},
		func(tr, act, val string) {
			e.fake.SendEnvelope("interactive", "env-"+tr, fakeslack.BlockAction(team, tr, "UALICE", act, val, e.fake.Message("DUALICE", act, val)))
			wait()
		})
	finish(t, e, link)
}

func TestSignatures(t *testing.T) {
	e := setup(t, false)
	body, _ := json.Marshal(fakeslack.MessageEvent(team, "EvSig", "UALICE", "reset"))
	now := e.h.Clock.Now()
	post := func(h http.Header, b []byte) int { return send(t, e.srv.URL+"/slack/events", h, b, e.a) }
	tampered := bytes.Replace(body, []byte("reset"), []byte("unlock"), 1)
	cases := map[string]struct {
		h    http.Header
		body []byte
	}{
		"stale 301 s":    {slack.Sign(secret, body, now.Add(-301*time.Second)), body},
		"future 301 s":   {slack.Sign(secret, body, now.Add(301*time.Second)), body},
		"tampered body":  {slack.Sign(secret, body, now), tampered},
		"wrong secret":   {slack.Sign("another-secret-0123456789", body, now), body},
		"missing header": {http.Header{}, body},
		"no signature":   {func() http.Header { h := slack.Sign(secret, body, now); h.Del("X-Slack-Signature"); return h }(), body},
	}
	for name, c := range cases {
		if code := post(c.h, c.body); code != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, code)
		}
	}
	if n := len(e.fake.Posts()); n != 0 || len(e.h.Dir.TakeCalls()) != 0 {
		t.Fatalf("a refused request ran: %d posts", n)
	}
	if code := post(slack.Sign(secret, body, now.Add(-299*time.Second)), body); code != 200 {
		t.Fatalf("299 s old: %d", code)
	}
	if n := len(e.fake.Posts()); n != 1 {
		t.Fatalf("valid request: %d posts", n)
	}
}

func TestURLVerification(t *testing.T) {
	e := setup(t, false)
	body := []byte(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/slack/events", bytes.NewReader(body))
	for k, v := range slack.Sign(secret, body, e.h.Clock.Now()) {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if b.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("challenge: %q", b.String())
	}
}

func TestRetriesHandledOnceAcrossReplicas(t *testing.T) {
	e := setup(t, false)
	replica := e.adapter(t, false)
	other := httptest.NewServer(replica.HTTPHandler())
	t.Cleanup(other.Close)
	ev := fakeslack.MessageEvent(team, "EvRetry", "UALICE", "I'm locked out")
	for i := 0; i < 3; i++ {
		hdr := map[string]string{}
		if i > 0 {
			hdr["X-Slack-Retry-Num"], hdr["X-Slack-Retry-Reason"] = string(rune('0'+i)), "http_timeout"
		}
		e.event(t, ev, hdr)
	}
	// the same delivery reaching the second replica
	body, _ := json.Marshal(ev)
	send(t, other.URL+"/slack/events", slack.Sign(secret, body, e.h.Clock.Now()), body, replica)
	e.a.Wait()
	if n := len(e.fake.Posts()); n != 1 {
		t.Fatalf("%d replies to one event delivered four times", n)
	}
}

// A delivery is claimed by the step's own first read (the Load pipeline), not by a round trip
// of its own: a message or a click from a known person costs the pipelined read and the
// commit, and a retry of either costs the read alone and is not answered. A refusal (a guest),
// which no step reads for, is claimed by itself and answered once.
func TestRetriesAreClaimedByTheStepsRead(t *testing.T) {
	e := setup(t, false)
	e.fake.AddUser(fakeslack.User{ID: "UGUEST", TeamID: team, Email: "alice@contoso.test", EmailConfirmed: true, Guest: true})
	e.say(t, "EvWarm", "status") // the identity, the pin and the Slack profile are known now
	e.h.Counter.Take()
	posts := len(e.fake.Posts())
	ev := fakeslack.MessageEvent(team, "EvOnce", "UALICE", "I'm locked out")
	e.event(t, ev, nil)
	e.a.Wait()
	n, cmds := e.h.Counter.Take()
	if n != 2 || !strings.HasPrefix(cmds[0], "PIPELINE(SET,") {
		t.Fatalf("a message cost %d round trips: %v (want the read claiming the delivery, then the commit)", n, cmds)
	}
	if got := len(e.fake.Posts()) - posts; got != 1 {
		t.Fatalf("%d replies to the message", got)
	}
	e.event(t, ev, map[string]string{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
	e.a.Wait()
	if n, cmds := e.h.Counter.Take(); n != 1 {
		t.Fatalf("a retry cost %d round trips: %v", n, cmds)
	}
	if got := len(e.fake.Posts()) - posts; got != 1 {
		t.Fatalf("the retry was answered: %d replies", got)
	}
	p := lastPost(t, e.fake, "chat.postMessage")
	v := ""
	for _, b := range fakeslack.Buttons(p) {
		if strings.HasPrefix(b[1], "m:totp|") {
			v = b[1]
		}
	}
	if v == "" {
		t.Fatalf("no app button in %q", p.Text)
	}
	e.click(t, "TrOnce", "choice:0", v)
	e.a.Wait()
	if n, cmds := e.h.Counter.Take(); n != 2 || !strings.HasPrefix(cmds[0], "PIPELINE(SET,") {
		t.Fatalf("a click cost %d round trips: %v", n, cmds)
	}
	clicked := len(e.fake.Posts())
	e.click(t, "TrOnce", "choice:0", v)
	e.a.Wait()
	if got := len(e.fake.Posts()); got != clicked+1 { // the chat.update closing the buttons again, no reply
		for _, p := range e.fake.Posts()[clicked:] {
			t.Logf("%s %q", p.Method, p.Text)
		}
		t.Fatalf("the repeated click was answered")
	}
	guest := fakeslack.MessageEvent(team, "EvGuest", "UGUEST", "reset")
	for i := 0; i < 3; i++ {
		e.event(t, guest, nil)
	}
	e.a.Wait()
	refusals := 0
	for _, p := range e.fake.Posts() {
		if p.Channel == "DUGUEST" {
			refusals++
		}
	}
	if refusals != 1 {
		t.Fatalf("%d refusals to one delivery", refusals)
	}
	// the claims are the dedupe: the steps keep no idempotency key of their own besides them
	if keys, _ := e.h.RDB.Keys(context.Background(), "{u:*}:i:*").Result(); len(keys) != 0 {
		t.Fatalf("idempotency keys kept besides the claims: %v", keys)
	}
}

func TestIgnoredAndRefused(t *testing.T) {
	e := setup(t, false)
	e.fake.AddUser(fakeslack.User{ID: "UNOCONF", TeamID: team, Email: "alice@contoso.test", EmailConfirmed: false})
	e.fake.AddUser(fakeslack.User{ID: "UGUEST", TeamID: team, Email: "alice@contoso.test", EmailConfirmed: true, Guest: true})
	e.fake.AddUser(fakeslack.User{ID: "USTRANGER", TeamID: "T0OTHER", Email: "alice@contoso.test", EmailConfirmed: true, Stranger: true})
	ctx := context.Background()
	before, _ := e.h.RDB.Keys(ctx, "{u:*").Result()
	foreign := fakeslack.MessageEvent("T0OTHER", "EvF", "UALICE", "reset")
	bot := fakeslack.MessageEvent(team, "EvB", "UALICE", "reset")
	bot["event"].(map[string]any)["bot_id"] = "B1"
	edited := fakeslack.MessageEvent(team, "EvE", "UALICE", "reset")
	edited["event"].(map[string]any)["subtype"] = "message_changed"
	channel := fakeslack.MessageEvent(team, "EvC", "UALICE", "reset")
	channel["event"].(map[string]any)["channel_type"] = "channel"
	for _, ev := range []map[string]any{foreign, bot, edited, channel} {
		e.event(t, ev, nil)
	}
	if n := len(e.fake.Posts()); n != 0 {
		t.Fatalf("ignored events were answered: %+v", e.fake.Posts())
	}
	for _, u := range []string{"UNOCONF", "UGUEST", "USTRANGER"} {
		e.event(t, fakeslack.MessageEvent(team, "Ev"+u, u, "reset"), nil)
	}
	posts := e.fake.Posts()
	if len(posts) != 3 {
		t.Fatalf("refusals: %+v", posts)
	}
	for _, p := range posts {
		if !strings.Contains(p.Text, "contact the helpdesk") {
			t.Fatalf("refusal text %q", p.Text)
		}
	}
	if calls := e.h.Dir.TakeCalls(); len(calls) != 0 {
		t.Fatalf("the directory was asked: %v", calls)
	}
	// only the delivery ids and audit records were written; no session, pin or counter
	keys, _ := e.h.RDB.Keys(ctx, "{u:*").Result()
	if len(keys) != len(before) {
		t.Fatalf("user keys written: %v, before %v", keys, before)
	}
}

func TestPinnedToAnotherUserIsRefused(t *testing.T) {
	e := setup(t, false)
	alerts, err := slack.New(slack.Config{BotToken: "xoxb-1", SigningSecret: secret, TeamIDs: []string{team},
		APIURL: e.fake.GetAPIURL(), AdminChannel: "CADMINS"}, e.h.Engine, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"))
	if err != nil {
		t.Fatal(err)
	}
	e.h.Deps.Alerts = alerts
	e.h.Rebuild()
	e.a = e.adapter(t, false)
	e.srv.Config.Handler = e.a.HTTPHandler()
	e.fake.AddChannel(fakeslack.Channel{ID: "CADMINS", Name: "sspr-admins", BotMember: true})
	chat := flows.ChatRef{Platform: slack.Platform, Tenant: team, UserID: "UALICE"}
	if err := e.h.Store.Pin(context.Background(), chat.Key(), "someone-else"); err != nil {
		t.Fatal(err)
	}
	e.say(t, "EvPin", "reset")
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "helpdesk") {
		t.Fatalf("pinned mismatch: %q", p.Text)
	}
	e.h.Audit.Close() // flush: audit writes are asynchronous
	ev, _ := store.Events(context.Background(), e.h.RDB)
	found := false
	for _, x := range ev {
		found = found || x.Reason == "pin_mismatch"
	}
	if !found {
		t.Fatal("mismatch not audited")
	}
	reported := false
	for _, p := range e.fake.Posts() {
		reported = reported || (p.Channel == "CADMINS" && strings.Contains(p.Text, "pinned to directory user someone-else"))
	}
	if !reported {
		t.Fatalf("bot admins not told: %+v", e.fake.Posts())
	}
}

func TestRateLimitIsWaitedOutAndDeliveredOnce(t *testing.T) {
	e := setup(t, false)
	e.fake.RateLimitNext("chat.postMessage", "7")
	e.say(t, "Ev429", "reset")
	posts := e.fake.Posts()
	if len(posts) != 1 || e.fake.Calls("chat.postMessage") != 2 {
		t.Fatalf("posts %d, calls %d", len(posts), e.fake.Calls("chat.postMessage"))
	}
	waited := time.Duration(0)
	for _, d := range e.h.Clock.Slept() {
		waited += d
	}
	if waited < 7*time.Second {
		t.Fatalf("waited %s, Retry-After was 7 s", waited)
	}
}

func TestSlashCommands(t *testing.T) {
	e := setup(t, false)
	cmd := func(trigger, text string) {
		form := url.Values{"command": {"/sspr"}, "text": {text}, "team_id": {team}, "user_id": {"UALICE"},
			"channel_id": {"C1"}, "trigger_id": {trigger}, "response_url": {"https://hooks.invalid/x"}}
		if code := e.signed(t, "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()), e.h.Clock.Now(), nil); code != 200 {
			t.Fatalf("/sspr %s: %d", text, code)
		}
	}
	cmd("TrA", "register")
	p := lastPost(t, e.fake, "chat.postMessage")
	if p.Channel != "DUALICE" || !strings.Contains(p.Text, "sign in with your work account") {
		t.Fatalf("register: %+v", p)
	}
	cmd("TrB", "")
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "2 ways to prove it's you are registered (2 needed)") {
		t.Fatalf("status: %q", p.Text)
	}
	cmd("TrC", "policy show")
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "only bot admins") {
		t.Fatalf("non-admin: %q", p.Text)
	}
	e.h.Audit.Close() // flush: audit writes are asynchronous
	ev, _ := store.Events(context.Background(), e.h.RDB)
	refused := false
	for _, x := range ev {
		refused = refused || (x.Action == "admin:policy show" && x.Outcome == "refused" && x.Reason == "not_bot_admin")
	}
	if !refused {
		t.Fatalf("refusal not audited: %+v", ev)
	}
}

func TestAppHome(t *testing.T) {
	e := setup(t, false)
	home := map[string]any{"team_id": team, "type": "event_callback", "event_id": "EvHome",
		"event": map[string]any{"type": "app_home_opened", "user": "UALICE", "tab": "home", "channel": "DUALICE"}}
	e.event(t, home, nil)
	v := e.fake.WaitViews(1)[0]
	for _, want := range []string{"Authenticator app code", "p***@m****.test", "home:register", "home:reset", "home:unlock", "reconfirm", "/recover"} {
		if !strings.Contains(v, want) {
			t.Errorf("home lacks %q: %s", want, v)
		}
	}
	if strings.Contains(v, "private.") {
		t.Fatal("home shows an address")
	}
	e.click(t, "TrHome", "home:reset", "reset")
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "proof") {
		t.Fatalf("home reset: %q", p.Text)
	}
}

func TestConfigValidate(t *testing.T) {
	err := slack.Config{BotToken: "xoxp-user", Socket: true, AppToken: "xoxb-nope"}.Validate()
	for _, want := range []string{"xoxb-", "xapp-", "SLACK_TEAM_IDS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := (slack.Config{BotToken: "xoxb-1", SigningSecret: "short", TeamIDs: []string{"T"}}).Validate(); err == nil {
		t.Fatal("HTTP mode without a signing secret")
	}
}

// gated holds every step until its gate opens.
type gated struct {
	slack.Engine
	gate    chan struct{}
	started chan struct{}
}

func (g gated) Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error) {
	g.started <- struct{}{}
	<-g.gate
	return g.Engine.Handle(ctx, in)
}

// At shutdown, Socket Mode stops taking envelopes, closes its connection, and returns only after
// the steps it acknowledged have finished and answered.
func TestSocketModeShutdownFinishesAcknowledgedSteps(t *testing.T) {
	e := setup(t, true)
	g := gated{Engine: e.h.Engine, gate: make(chan struct{}), started: make(chan struct{}, 1)}
	a, err := slack.New(slack.Config{BotToken: "xoxb-1-test", AppToken: "xapp-1-test", Socket: true,
		TeamIDs: []string{team}, APIURL: e.fake.GetAPIURL()}, g, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"),
		slack.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.RunSocket(ctx) }()
	e.fake.SendEnvelope("events_api", "env-shut", fakeslack.MessageEvent(team, "EvShut", "UALICE", "help"))
	<-g.started // acknowledged and being worked on
	cancel()
	e.fake.WaitClosed(1) // the connection closes while the step still runs
	if len(e.fake.Posts()) != 0 {
		t.Fatal("the step answered before it was let go")
	}
	select {
	case <-done:
		t.Fatal("RunSocket returned while an acknowledged step was still running")
	default:
	}
	close(g.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if posts := e.fake.Posts(); len(posts) != 1 || posts[0].Channel != "DUALICE" {
		t.Fatalf("RunSocket returned before the acknowledged step answered: %+v", posts)
	}
}

// TestUserCacheDropsExpiredPeople: the users.info cache keeps the people seen lately, not
// everyone ever seen (its memory follows the active people, not the workspace).
func TestUserCacheDropsExpiredPeople(t *testing.T) {
	e := setup(t, false)
	for _, id := range []string{"UBOB", "UCAROL"} {
		e.fake.AddUser(fakeslack.User{ID: id, TeamID: team, Email: strings.ToLower(id[1:]) + "@contoso.test", EmailConfirmed: true})
	}
	say := func(user, id string) {
		t.Helper()
		if code := e.event(t, fakeslack.MessageEvent(team, id, user, "help"), nil); code != 200 {
			t.Fatalf("event: %d", code)
		}
	}
	say("UALICE", "Ev1")
	say("UBOB", "Ev2")
	if n := slack.CachedUsers(e.a); n != 2 {
		t.Fatalf("cached %d people, want 2", n)
	}
	e.h.Clock.Advance(6 * time.Minute) // past the cache's five minutes
	say("UCAROL", "Ev3")
	if n := slack.CachedUsers(e.a); n != 1 {
		t.Fatalf("after five minutes the cache holds %d people, want only the one seen since", n)
	}
	say("UALICE", "Ev4") // read again: the cache answers as before
	if n := slack.CachedUsers(e.a); n != 2 {
		t.Fatalf("cached %d people, want 2", n)
	}
}
