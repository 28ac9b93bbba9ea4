package teams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// replica is another bot process over the same Redis: a fresh engine (empty caches) and a
// fresh adapter, posting the engine's notices through that adapter.
func (e *env) replica(t *testing.T) {
	t.Helper()
	fwd := &forward{}
	e.h.Deps.Notifier = fwd
	e.h.Rebuild()
	a, err := teams.New(teams.Config{AppID: appID, AppSecret: "bot-secret", TenantID: tenant, AllowedTenants: []string{tenant},
		ServiceHosts: []string{"127.0.0.1"}, Metadata: e.bf.URL() + "/openid", TokenURL: e.bf.URL() + "/token"},
		e.h.Engine, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"), teams.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	e.a, fwd.to = a, a
	e.srv.Config.Handler = a.Handler()
}

// type sends a typed message and returns the text of the card the bot answered with.
func (e *env) typed(t *testing.T, text string) string {
	t.Helper()
	if code := e.valid(t, e.activity("message", text, nil)); code != 200 {
		t.Fatalf("%q: status %d", text, code)
	}
	got, _ := lastCard(t, e.bf)
	return got
}

// A menu the bot posts outside a request (a reminder's "Register now / Remind me in 3 days",
// the "This wasn't me" under the password-changed notice) answers to its typed number and its
// label in Teams, on whichever replica the message reaches.
func TestNoticeMenusAreLiveInTeams(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	inst := e.activity("conversationUpdate", "", nil)
	inst["membersAdded"] = []any{map[string]any{"id": "28:" + appID}}
	e.valid(t, inst)
	if err := e.h.Store.Remove(ctx, storetest.Alice.ID, flows.MethodTOTP); err != nil {
		t.Fatal(err)
	}
	e.replica(t)
	r := flows.NewReminders(e.h.Engine, e.h.Store, e.h.Dir, e.a)
	if n, err := r.Plan(ctx); err != nil || n != 1 {
		t.Fatalf("planned %d %v", n, err)
	}
	if _, err := r.Step(ctx); err != nil || r.Sent.Load() != 1 {
		t.Fatalf("reminded %d %v", r.Sent.Load(), err)
	}
	e.replica(t)
	if got := e.typed(t, "2"); got != "OK, I'll remind you in 3 days." {
		t.Fatalf(`"2" under the reminder: %q`, got)
	}

	// registered again, Alice resets by typing only, then answers the notice's menu
	e.totp = e.h.Enrol(storetest.Alice.ID)
	e.replica(t)
	if got := e.typed(t, "forgot my pasword"); !strings.Contains(got, "Choose a method") {
		t.Fatalf("start: %q", got)
	}
	if got := e.typed(t, "authenticator"); !strings.Contains(got, "authenticator app") {
		t.Fatalf(`"authenticator": %q`, got)
	}
	e.h.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(e.totp, e.h.Clock.Now())
	e.typed(t, code)
	if got := e.typed(t, "2"); !strings.Contains(got, "p***@m****.test") {
		t.Fatalf(`"2" for the email code: %q`, got)
	}
	e.typed(t, storetest.CodeFrom(t, e.h.Mail.Last()))
	_, actions := lastCard(t, e.bf)
	link := ""
	for _, a := range actions {
		if a["type"] == "Action.OpenUrl" {
			link = a["url"].(string)
		}
	}
	if link == "" {
		t.Fatalf("no link: %v", actions)
	}
	if err := e.h.Engine.ResetPassword(ctx, link[strings.LastIndex(link, "/")+1:], "Sunny-Meadow-42", "Sunny-Meadow-42"); err != nil {
		t.Fatal(err)
	}
	e.h.Engine.Drain()
	if got, actions := lastCard(t, e.bf); !strings.Contains(got, "changed") || len(actions) != 1 {
		t.Fatalf("notice: %q %v", got, actions)
	}
	e.replica(t)
	if got := e.typed(t, "1"); !strings.Contains(got, "Thank you for telling us") {
		t.Fatalf(`"1" under the notice: %q`, got)
	}
}

// A Teams card keeps its buttons after one is pressed: pressing another method on the first
// card picks it, as typing its name would, instead of "That button is from an earlier step".
func TestEarlierCardButtonsStayLiveInTeams(t *testing.T) {
	e := setup(t)
	e.valid(t, e.activity("message", "I'm locked out", nil))
	_, first := lastCard(t, e.bf)
	e.valid(t, e.activity("message", "", submit(t, first, "Email")))
	if got, _ := lastCard(t, e.bf); !strings.Contains(got, "p***@m****.test") {
		t.Fatalf("email: %q", got)
	}
	e.valid(t, e.activity("message", "", submit(t, first, "Authenticator")))
	if got, _ := lastCard(t, e.bf); !strings.Contains(got, "authenticator app") {
		t.Fatalf("the authenticator from the first card: %q", got)
	}
	e.h.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(e.totp, e.h.Clock.Now())
	if got := e.typed(t, code); !strings.Contains(got, "One more proof") {
		t.Fatalf("code: %q", got)
	}
}
