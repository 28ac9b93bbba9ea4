package web_test

import (
	"context"
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

// ruled is a directory with its own password rules, as AD's domain or fine-grained policy.
type ruled struct {
	*storetest.Directory
	rules flows.PasswordRules
}

func (r ruled) Capabilities() flows.Capabilities {
	c := r.Directory.Capabilities()
	c.Rules = r
	return c
}

func (r ruled) PasswordRules(context.Context, string) (flows.PasswordRules, error) {
	return r.rules, nil
}

// The new-password page states the person's directory rules before they type, and its live
// checklist in a real browser ticks the length only at the directory's minimum.
func TestNewPasswordPageShowsAndChecksTheDirectoryMinimum(t *testing.T) {
	e := setup(t)
	e.h.Deps.Directory = ruled{e.h.Dir, flows.PasswordRules{MinLength: 14, Complexity: true, History: 24, Known: true, Source: "your domain"}}
	e.h.Rebuild()
	e.srv.Config.Handler = web.New(e.h.Engine, nil, e.h.Crypto, e.h.Store, bot.NewLogger(e.h.Logs, "debug")).Handler()
	secret := e.h.Enrol(e.alice.ID)
	e.h.Clock.Advance(30 * time.Second)
	chat := "chat-rules"
	rs := e.h.Say(chat, e.alice.Mail, "reset")
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, e.h.Clock.Now())
	rs = e.h.Say(chat, e.alice.Mail, code)
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Email"))
	rs = e.h.Say(chat, e.alice.Mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	link := storetest.Link(t, rs)

	ctx := browser(t)
	if err := chromedp.Run(ctx, chromedp.Navigate(link), chromedp.WaitVisible("#password", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "at least 14 characters") || !strings.Contains(got, "last 24 passwords") {
		t.Fatalf("the page does not state the rules: %q", got)
	}
	class := func() string {
		var c string
		var ok bool
		if err := chromedp.Run(ctx, chromedp.AttributeValue(`li[data-rule="length"]`, "class", &c, &ok, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := chromedp.Run(ctx, chromedp.SendKeys("#password", "Granite-Lan-8", chromedp.ByID)); err != nil { // 13 characters
		t.Fatal(err)
	}
	if c := class(); c != "unmet" {
		t.Fatalf("13 characters against a minimum of 14: %q", c)
	}
	if err := chromedp.Run(ctx, chromedp.SendKeys("#password", "x", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if c := class(); c != "met" {
		t.Fatalf("14 characters: %q", c)
	}
}
