package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// A German and a Japanese browser (Accept-Language) get the registration and the reset pages in
// their language, with the live password checklist, and axe finds nothing serious on any page.
func TestPagesInGermanAndJapaneseInARealBrowser(t *testing.T) {
	for _, c := range []struct {
		lang, accept                                   string
		signIn, setUpApp, appDone, rule, easy, changed string
		// the chat in the same language: what the person types, the method buttons, the link reply
		forgot, app, email, verified string
	}{
		{"de", "de-DE,de;q=0.9,en;q=0.5", "Mit dem Arbeitskonto anmelden", "Authenticator-App einrichten",
			"Erledigt: die Authenticator-App ist eingerichtet und bestätigt.", "Mindestens 8 Zeichen",
			"zu leicht zu erraten", "Dein Passwort wurde geändert.",
			"Passwort vergessen", "Code aus der Authenticator-App", "Code per E-Mail", "Danke, du bist bestätigt."},
		{"ja", "ja-JP,ja;q=0.9", "仕事用アカウントでサインイン", "認証アプリを設定",
			"完了: 認証アプリを登録し、確認しました。", "8 文字以上", "推測されやすすぎます", "パスワードを変更しました。",
			"パスワードを忘れた", "認証アプリのコード", "メールのコード", "本人確認ができました"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			e := setup(t)
			ctx := browser(t)
			axe := axeSource(t)
			if err := chromedp.Run(ctx, network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": c.accept})); err != nil {
				t.Fatal(err)
			}
			htmlLang := func(page string) {
				t.Helper()
				var l string
				if err := chromedp.Run(ctx, chromedp.AttributeValue("html", "lang", &l, nil, chromedp.ByQuery)); err != nil || l != c.lang {
					t.Errorf("%s: html lang %q %v", page, l, err)
				}
			}
			// registration
			if err := chromedp.Run(ctx, chromedp.Navigate(e.registerLink(t, e.alice)), chromedp.WaitVisible("button", chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
			if got := text(ctx, t); !strings.Contains(got, c.signIn) {
				t.Fatalf("link page: %q", got)
			}
			htmlLang("link page")
			audit(t, ctx, axe, c.lang+" link page")
			shot(t, ctx, "lang-"+c.lang+"-01-register-link")
			err := chromedp.Run(ctx, chromedp.Click("button", chromedp.ByQuery), chromedp.WaitVisible("#u", chromedp.ByID),
				chromedp.SendKeys("#u", e.alice.UPN, chromedp.ByID), chromedp.SendKeys("#p", graphtest.DemoPassword, chromedp.ByID),
				chromedp.Submit("#p", chromedp.ByID), chromedp.WaitVisible(`form[action="/enrol/begin"] button`, chromedp.ByQuery))
			if err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			if got := text(ctx, t); !strings.Contains(got, c.setUpApp) {
				t.Fatalf("methods page: %q", got)
			}
			htmlLang("methods page")
			audit(t, ctx, axe, c.lang+" methods page")
			shot(t, ctx, "lang-"+c.lang+"-02-methods")
			var secret string
			if err := chromedp.Run(ctx, chromedp.Submit(`input[value="totp"]`, chromedp.ByQuery), chromedp.WaitVisible("code.secret", chromedp.ByQuery),
				chromedp.Text("code.secret", &secret, chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
			audit(t, ctx, axe, c.lang+" authenticator page")
			code, _ := totp.Code(strings.TrimSpace(secret), e.h.Clock.Now())
			if err := chromedp.Run(ctx, chromedp.SendKeys("#code", code, chromedp.ByID), chromedp.Submit("#code", chromedp.ByID),
				chromedp.WaitVisible(".notice", chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
			if got := text(ctx, t); !strings.Contains(got, c.appDone) {
				t.Fatalf("after the code: %q", got)
			}
			if en, _ := e.h.Store.Get(context.Background(), e.alice.ID); !en.Has(flows.MethodTOTP) {
				t.Fatal("not registered")
			}

			// verify in chat, then the new-password page with its live checklist
			e.h.Enrol(e.alice.ID)
			e.h.Clock.Advance(30 * time.Second)
			chat := storetest.Chat("chat-" + c.lang)
			chat.Locale = c.accept[:5]
			n := 0
			send := func(text, choice string) []flows.Reply {
				t.Helper()
				n++
				rs, err := e.h.Send(flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: e.alice.Mail},
					Text: text, Choice: choice, IdemKey: c.lang + strconv.Itoa(n)})
				if err != nil {
					t.Fatal(err)
				}
				return rs
			}
			rs := send(c.forgot, "")
			rs = send("", storetest.Choice(t, rs, c.app))
			en, _ := e.h.Store.Get(context.Background(), e.alice.ID)
			code, _ = totp.Code(en.Methods[flows.MethodTOTP].Secret, e.h.Clock.Now())
			rs = send(code, "")
			rs = send("", storetest.Choice(t, rs, c.email))
			rs = send(storetest.CodeFrom(t, e.h.Mail.Last()), "")
			if !strings.Contains(rs[len(rs)-1].Text, c.verified) {
				t.Fatalf("chat in %s: %+v", c.lang, rs)
			}
			if err := chromedp.Run(ctx, chromedp.Navigate(storetest.Link(t, rs)), chromedp.WaitVisible("#password", chromedp.ByID)); err != nil {
				t.Fatal(err)
			}
			if got := text(ctx, t); !strings.Contains(got, c.rule) {
				t.Fatalf("new password page: %q", got)
			}
			htmlLang("new password page")
			var met bool
			if err := chromedp.Run(ctx, chromedp.SendKeys("#password", "Password99", chromedp.ByID), chromedp.SendKeys("#confirm", "Password99", chromedp.ByID),
				chromedp.Evaluate(`document.querySelector('[data-rule="length"]').className === "met" && document.querySelector('[data-rule="same"]').className === "met"`, &met)); err != nil || !met {
				t.Fatalf("live checklist: %v %v", met, err)
			}
			audit(t, ctx, axe, c.lang+" new password page")
			shot(t, ctx, "lang-"+c.lang+"-03-new-password")
			if err := chromedp.Run(ctx, chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(".error", chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
			if got := text(ctx, t); !strings.Contains(got, c.easy) {
				t.Fatalf("refusal: %q", got)
			}
			audit(t, ctx, axe, c.lang+" refused page")
			err = chromedp.Run(ctx, chromedp.SendKeys("#password", "Granite-Orchid-Lantern-8", chromedp.ByID),
				chromedp.SendKeys("#confirm", "Granite-Orchid-Lantern-8", chromedp.ByID), chromedp.Submit("#password", chromedp.ByID),
				chromedp.WaitVisible(".notice", chromedp.ByQuery))
			if err != nil {
				t.Fatal(err)
			}
			if got := text(ctx, t); !strings.Contains(got, c.changed) || e.h.Dir.Passwords[e.alice.ID] != "Granite-Orchid-Lantern-8" {
				t.Fatalf("reset: %q", got)
			}
			audit(t, ctx, axe, c.lang+" done page")
			shot(t, ctx, "lang-"+c.lang+"-04-done")
		})
	}
}
