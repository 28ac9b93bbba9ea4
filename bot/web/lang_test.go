package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/web/webtest"
)

// The pages speak the browser's language (Accept-Language, matched to the nearest catalog:
// fr-CA reads French, pt reads Brazilian Portuguese), say so in Content-Language and html
// lang, and the switcher overrides it for the rest of the visit; a language the bot does not
// speak, or a switcher aimed elsewhere, goes nowhere.
func TestPageLanguageAndSwitcher(t *testing.T) {
	e := setup(t)
	for accept, want := range map[string]string{
		"fr-CA,fr;q=0.9": "Me connecter avec mon compte professionnel",
		"pt":             "Entrar com minha conta de trabalho",
		"zh-CN,zh;q=0.9": "Sign in with your work account",
		"":               "Sign in with your work account",
	} {
		b := webtest.New(t, e.srv.Client()).Speaking(accept)
		b.Get(e.registerLink(t, e.alice))
		if !strings.Contains(b.Last, want) {
			t.Errorf("Accept-Language %q:\n%s", accept, b.Last)
		}
	}
	b := webtest.New(t, e.srv.Client()).Speaking("de-DE")
	link := e.registerLink(t, e.alice)
	b.Get(link)
	if !strings.Contains(b.Last, `<html lang="de">`) || b.Header.Get("Content-Language") != "de" || !strings.Contains(b.Last, "Mit dem Arbeitskonto anmelden") {
		t.Fatalf("German page: %s\n%s", b.Header.Get("Content-Language"), b.Last)
	}
	if !strings.Contains(b.Last, `value="ja" lang="ja"`) || !strings.Contains(b.Last, ">日本語<") {
		t.Fatalf("no switcher:\n%s", b.Last)
	}
	u, _ := url.Parse(link)
	b.Post(b.Abs("/lang"), url.Values{"lang": {"ja"}, "back": {u.Path}})
	if b.URL.Path != u.Path || !strings.Contains(b.Last, "仕事用アカウントでサインイン") || !strings.Contains(b.Last, `<html lang="ja">`) {
		t.Fatalf("after switching to Japanese (%s):\n%s", b.URL, b.Last)
	}
	// the choice holds on the next pages, whatever the browser says
	b.Submit("", nil)
	b.SignIn(e.alice.UPN, "Demo-Passw0rd!")
	if !strings.Contains(b.Last, "認証アプリを設定") {
		t.Fatalf("methods page after the switch:\n%s", b.Last)
	}
	// an unknown language, or a way back off the bot's pages, is refused or sent home
	b.Post(b.Abs("/lang"), url.Values{"lang": {"tlh"}, "back": {"/enrol"}})
	if b.Status != 400 {
		t.Fatalf("unknown language: %d", b.Status)
	}
	b.Post(b.Abs("/lang"), url.Values{"lang": {"de"}, "back": {"https://evil.test/"}})
	if b.URL.Path != "/enrol" || !strings.Contains(b.Last, "Authenticator-App einrichten") {
		t.Fatalf("off-site back: %s", b.URL)
	}
}

// The recovery page speaks the browser's language too, with its switcher, and the code it sends
// by email is written in the page's language.
func TestRecoverPageInTheBrowsersLanguage(t *testing.T) {
	e := setup(t)
	e.withRecovery(roomy())
	e.h.Enrol(e.alice.ID)
	b := webtest.New(t, e.srv.Client()).Speaking("fr-FR,fr;q=0.9")
	b.Get(e.srv.URL + "/recover")
	if !strings.Contains(b.Last, `<html lang="fr">`) || !strings.Contains(b.Last, "Votre adresse e-mail professionnelle ou votre identifiant") ||
		!strings.Contains(b.Last, `value="/recover"`) {
		t.Fatalf("recovery page in French:\n%s", b.Last)
	}
	sent := len(e.h.Mail.All())
	post(t, b, true, "start", "name", e.alice.UPN, "flow", "reset")
	post(t, b, true, "email")
	e.h.Engine.Drain()
	if !strings.Contains(b.Last, "un code à 6 chiffres est en route") {
		t.Fatalf("after sending:\n%s", b.Last)
	}
	if all := e.h.Mail.All(); len(all) <= sent || all[len(all)-1].Subject != "Votre code de vérification resetbot" {
		t.Fatalf("the code mail: %+v", all[sent:])
	}
}
