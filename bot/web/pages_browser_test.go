package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// The pages this issue added or changed, in a real browser at phone width, each checked by
// axe: a field's error on the methods page, the code page with a new code and back, the
// questions page with an answer in error, the confirmation before a removal, and the page
// after a sign-in as the wrong person.
func TestPageStatesInARealBrowser(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodQuestions)
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	bctx := browser(t)
	axe := axeSource(t)
	signIn := func(who graphtest.User) {
		t.Helper()
		err := chromedp.Run(bctx, chromedp.Navigate(e.registerLink(t, e.alice)), chromedp.Click("button", chromedp.ByQuery),
			chromedp.WaitVisible("#u", chromedp.ByID), chromedp.SendKeys("#u", who.UPN, chromedp.ByID),
			chromedp.SendKeys("#p", graphtest.DemoPassword, chromedp.ByID), chromedp.Submit("#p", chromedp.ByID),
			chromedp.WaitVisible("h1", chromedp.ByQuery))
		if err != nil {
			t.Fatal(err)
		}
	}
	expect := func(page string, want ...string) {
		t.Helper()
		got := text(bctx, t)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("%s: %q not in %q", page, w, got)
			}
		}
		audit(t, bctx, axe, page)
	}

	signIn(e.bob)
	expect("wrong person", "Signed in as someone else", "open it again")
	shot(t, bctx, "30-wrong-person")

	signIn(e.alice)
	err := chromedp.Run(bctx, chromedp.SendKeys("#address", e.alice.Mail, chromedp.ByID), chromedp.Submit("#address", chromedp.ByID),
		chromedp.WaitVisible("#err-email", chromedp.ByID))
	if err != nil {
		t.Fatal(err)
	}
	expect("work address refused", "Email address: That is your work address")
	shot(t, bctx, "31-field-error")

	err = chromedp.Run(bctx, chromedp.SetValue("#address", "alice.private@mail.test", chromedp.ByID), chromedp.Submit("#address", chromedp.ByID),
		chromedp.WaitVisible("#code", chromedp.ByID), chromedp.Submit(`form[action="/enrol/resend"]`, chromedp.ByQuery),
		chromedp.WaitVisible(".notice", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	expect("new code", "We sent a new code", "Send a new code", "Back")
	shot(t, bctx, "32-new-code")

	err = chromedp.Run(bctx, chromedp.SendKeys("#code", storetest.CodeFrom(t, e.h.Mail.Last()), chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
		chromedp.WaitVisible(".notice", chromedp.ByQuery), chromedp.Submit(`input[value="questions"]`, chromedp.ByQuery), chromedp.WaitVisible("#a0", chromedp.ByID))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []string{"Fluffy McFluff", "Springfield", "fluffy mcfluff"} {
		if err := chromedp.Run(bctx, chromedp.SendKeys("#a"+string(rune('0'+i)), a, chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(bctx, chromedp.Submit("#a0", chromedp.ByID), chromedp.WaitVisible("#err-a2", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	expect("questions with an answer in error", "Answer to question 3: It is the same as the answer to question 1.")
	shot(t, bctx, "33-question-error")

	// back to the methods (the email registered), then remove it: below the two required
	err = chromedp.Run(bctx, chromedp.Navigate(e.srv.URL+"/enrol"), chromedp.WaitVisible(`form[action="/enrol/remove"] button`, chromedp.ByQuery),
		chromedp.Submit(`form[action="/enrol/remove"] button`, chromedp.ByQuery), chromedp.WaitVisible(`form[method="get"] button`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	expect("remove below the requirement", "Remove this method?", "needs 2 ways", "Keep it", "Remove anyway")
	shot(t, bctx, "34-remove")
}
