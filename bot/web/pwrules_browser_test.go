package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// The new-password page and the server agree on every rule the page shows: each password
// below goes through the page's live checklist in a real browser and through the server's
// checks (the same ones the page's form reaches). Where the checklist shows a rule unmet, the
// server refuses for one of the rules the checklist ticks, and for that one the checklist
// shows it unmet too; where the checklist ticks every rule, the server accepts, or refuses for
// the rule the page says it checks on submit (banned terms, the name, the history).
func TestPasswordChecklistAgreesWithTheServer(t *testing.T) {
	e := setup(t)
	// a directory with its own minimum (above the bot's 8) and a history, as AD's domain policy
	e.h.Deps.Directory = ruled{e.h.Dir, flows.PasswordRules{MinLength: 10, Complexity: true, History: 24, Known: true, Source: "your domain"}}
	e.h.Dir.Refuse = map[string]bool{"Kq8#Vw3$Np": true} // one of the last 24
	e.h.Rebuild()
	e.srv.Config.Handler = web.New(e.h.Engine, nil, e.h.Crypto, e.h.Store, bot.NewLogger(e.h.Logs, "debug")).Handler()
	secret := e.h.Enrol(e.alice.ID)
	e.h.Clock.Advance(30 * time.Second)
	chat := "chat-agree"
	rs := e.h.Say(chat, e.alice.Mail, "reset")
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, e.h.Clock.Now())
	rs = e.h.Say(chat, e.alice.Mail, code)
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Email"))
	rs = e.h.Say(chat, e.alice.Mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	link := storetest.Link(t, rs)
	tok := link[strings.LastIndex(link, "/l/")+3:]

	ctx := browser(t)
	if err := chromedp.Run(ctx, chromedp.Navigate(link), chromedp.WaitVisible("#password", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "last 24") || !strings.Contains(got, "checked when you submit") {
		t.Fatalf("the page does not say what the server checks on submit: %q", got)
	}
	ticked := []string{flows.RuleLength, flows.RuleClasses, flows.RuleCharset, flows.RuleSame}
	// page: the checklist's state after typing pw and confirm (set as typing does, then the
	// input event the page listens to; emoji and control characters cannot be sent as keys)
	page := func(pw, confirm string) map[string]string {
		t.Helper()
		a, _ := json.Marshal(pw)
		b, _ := json.Marshal(confirm)
		var res map[string]string
		js := fmt.Sprintf(`(() => {
			const p = document.getElementById("password"), c = document.getElementById("confirm");
			p.value = %s; c.value = %s;
			p.dispatchEvent(new Event("input")); c.dispatchEvent(new Event("input"));
			const out = {};
			for (const li of document.querySelectorAll("#rules li")) out[li.dataset.rule || ""] = li.className;
			return out; })()`, a, b)
		if err := chromedp.Run(ctx, chromedp.Evaluate(js, &res)); err != nil {
			t.Fatal(err)
		}
		return res
	}
	// server: the rule the server refuses the password for, "" when it sets it
	server := func(pw, confirm string) string {
		t.Helper()
		err := e.h.Engine.ResetPassword(context.Background(), tok, pw, confirm)
		var pe *flows.PasswordError
		switch {
		case err == nil:
			return ""
		case errors.As(err, &pe):
			return pe.Rule()
		}
		t.Fatalf("%q: %v", pw, err)
		return ""
	}
	for _, c := range []struct{ name, pw, confirm, want string }{
		{"one short of the directory's minimum", "Zq7-Vx9-K", "", flows.RuleLength},
		{"the bot's minimum in characters, the directory's in UTF-16 units", "Zq7-Vx😀😀", "", flows.RuleLength},
		{"too long", strings.Repeat("Zq7-", 64) + "x", "", flows.RuleLength},
		{"two kinds", "zq7vx9kpwm", "", flows.RuleClasses},
		{"an accented lowercase letter is a lowercase letter", "zq7vx9kpwé", "", flows.RuleClasses},
		{"an accented letter", "Zq7-Vx9-Kpé", "", flows.RuleCharset},
		{"an emoji", "Zq7-Vx9-Kp😀", "", flows.RuleCharset},
		{"a control character", "Zq7-Vx9-Kp\x01", "", flows.RuleCharset},
		{"not the same", "Zq7-Vx9-Kpw", "Zq7-Vx9-Kpx", flows.RuleSame},
		{"a common password", "Password1234!", "", flows.RuleCommon},
		{"the person's name", "Alice!Alice1", "", flows.RuleCommon},
		{"one of the last 24", "Kq8#Vw3$Np", "", flows.RuleCommon},
		{"good", "Zq7-Vx9-Kpw", "", ""}, // last: it sets the password
	} {
		if c.confirm == "" {
			c.confirm = c.pw
		}
		js := page(c.pw, c.confirm)
		got := server(c.pw, c.confirm)
		if got != c.want {
			t.Errorf("%s: the server refused for %q, want %q", c.name, got, c.want)
		}
		var unmet []string
		for _, r := range ticked {
			switch js[r] {
			case "unmet":
				unmet = append(unmet, r)
			case "met":
			default:
				t.Errorf("%s: the checklist has no state for %q: %v", c.name, r, js)
			}
		}
		if js[flows.RuleCommon] == "met" {
			t.Errorf("%s: the checklist ticks a rule only the server checks", c.name)
		}
		switch {
		case slices.Contains(ticked, got) && !slices.Contains(unmet, got):
			t.Errorf("%s: the server refused for %q, which the checklist shows met (%v)", c.name, got, js)
		case len(unmet) > 0 && !slices.Contains(ticked, got):
			t.Errorf("%s: the checklist shows %v unmet, the server answered %q", c.name, unmet, got)
		case len(unmet) == 0 && got != "" && got != flows.RuleCommon:
			t.Errorf("%s: the checklist ticks every rule, the server refused for %q", c.name, got)
		}
	}
	if e.h.Dir.Passwords[e.alice.ID] != "Zq7-Vx9-Kpw" {
		t.Fatalf("the good password was not set: %q", e.h.Dir.Passwords[e.alice.ID])
	}
}
