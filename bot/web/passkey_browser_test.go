package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

// alerts records what the bot admins are told.
type alerts struct {
	mu   sync.Mutex
	sent []flows.AuditEvent
}

func (a *alerts) Alert(_ context.Context, e flows.AuditEvent, _ string) {
	a.mu.Lock()
	a.sent = append(a.sent, e)
	a.mu.Unlock()
}

func (a *alerts) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.sent {
		out = append(out, e.Action)
	}
	return out
}

// passkeySetup is setup with the pages on https://localhost:port: browsers offer passkeys to a
// domain name (the RP ID), never to an IP address. Passkeys are among the policy's methods.
func passkeySetup(t *testing.T) (*env, *alerts) {
	t.Helper()
	e := setup(t)
	al := &alerts{}
	base := strings.Replace(e.srv.URL, "127.0.0.1", "localhost", 1)
	e.h.Opts.BaseURL = base
	e.h.Deps.Alerts = al
	e.h.Rebuild()
	o, err := web.NewOIDC(context.Background(), e.tn.Issuer(), e.tn.ClientID, e.tn.ClientSecret, base, e.h.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = web.New(e.h.Engine, o, e.h.Crypto, e.h.Store, bot.NewLogger(e.h.Logs, "debug")).Handler()
	ctx := context.Background()
	pol, v, _ := e.h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodPasskey)
	if _, err := e.h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	e.h.Clock.Advance(6 * time.Second) // past the policy cache
	return e, al
}

// passkeyLink starts a reset in chat and picks the passkey: the one-time page's link.
func passkeyLink(t *testing.T, e *env, chat string) string {
	t.Helper()
	rs := e.h.Say(chat, e.alice.Mail, "reset")
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs, "Passkey"))
	return storetest.Link(t, rs)
}

// prove opens a passkey page and presses its button; before that, script (if any) runs on the
// page. It returns the page's text once the server answered.
func prove(t *testing.T, ctx context.Context, link, script string) string {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Navigate(link), chromedp.WaitVisible("#pkgo", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(script, &ok)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Click("#pkgo", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	// the server's answer; when the browser gave no passkey the page stays, saying so
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(wctx, chromedp.WaitNotPresent("#pkgo", chromedp.ByID)); err != nil {
		t.Fatalf("no answer from the server: %v; the page says %q", err, text(ctx, t))
	}
	return text(ctx, t)
}

// captureScript keeps the page from posting the browser's answer; it is left in window.answer.
const captureScript = `(() => { const f = document.getElementById("passkey");
	f.submit = function () { window.answer = document.getElementById("response").value; }; return true; })()`

// TestPasskeyInARealBrowser registers a passkey with Chrome's virtual authenticator (a CTAP2
// platform authenticator that verifies its user), resets with it plus an email code, and shows
// what is refused: a replayed assertion, another credential, a cloned authenticator whose count
// went backwards (the bot admins are alerted) and an assertion without user verification.
func TestPasskeyInARealBrowser(t *testing.T) {
	e, al := passkeySetup(t)
	ctx := browser(t)
	axe := axeSource(t)
	var auth webauthn.AuthenticatorID
	err := chromedp.Run(ctx, webauthn.Enable(), chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		auth, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true}).Do(ctx)
		return err
	}))
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}

	// register: sign in, name the key, the browser creates it
	err = chromedp.Run(ctx, chromedp.Navigate(storetest.Link(t, e.h.Say("chat-"+e.alice.ID, e.alice.Mail, "register"))), chromedp.Click("button", chromedp.ByQuery),
		chromedp.WaitVisible("#u", chromedp.ByID), chromedp.SendKeys("#u", e.alice.UPN, chromedp.ByID),
		chromedp.SendKeys("#p", "Demo-Passw0rd!", chromedp.ByID), chromedp.Submit("#p", chromedp.ByID),
		chromedp.WaitVisible("#pkname", chromedp.ByID), chromedp.SendKeys("#pkname", "Laptop", chromedp.ByID),
		chromedp.Submit("#pkname", chromedp.ByID), chromedp.WaitVisible("#pkgo", chromedp.ByID))
	if err != nil {
		t.Fatalf("to the passkey page: %v", err)
	}
	audit(t, ctx, axe, "new passkey page")
	shot(t, ctx, "20-passkey-new")
	if err := chromedp.Run(ctx, chromedp.Click("#pkgo", chromedp.ByID), chromedp.WaitVisible(".notice", chromedp.ByQuery)); err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := text(ctx, t); !strings.Contains(got, `passkey "Laptop" is registered`) {
		t.Fatalf("after create: %q", got)
	}
	audit(t, ctx, axe, "methods page with a passkey")
	shot(t, ctx, "21-passkey-registered")
	en, _ := e.h.Store.Get(context.Background(), e.alice.ID)
	keys := en.Methods[flows.MethodPasskey].Passkeys
	if len(keys) != 1 || keys[0].Name != "Laptop" || len(keys[0].PublicKey) == 0 {
		t.Fatalf("stored keys: %+v", keys)
	}
	if m := e.h.Mail.Last(); !strings.Contains(m.Subject, "passkey was added") {
		t.Fatalf("no notice of the new passkey: %+v", m)
	}
	var creds []*webauthn.Credential
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		creds, err = webauthn.GetCredentials(auth).Do(ctx)
		return err
	})); err != nil || len(creds) != 1 {
		t.Fatalf("credentials %v: %v", creds, err)
	}
	original := *creds[0]

	// prove with it, then an email code: the reset link
	e.h.Enrol(e.alice.ID) // an email address (and an app) to go with the passkey
	chat := "chat-passkey"
	link := passkeyLink(t, e, chat)
	if err := chromedp.Run(ctx, chromedp.Navigate(link), chromedp.WaitVisible("#pkgo", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	audit(t, ctx, axe, "passkey proof page")
	shot(t, ctx, "22-passkey-prove")
	var answer string
	var ok bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(captureScript, &ok), chromedp.Click("#pkgo", chromedp.ByID),
		chromedp.Poll(`window.answer`, &answer)); err != nil {
		t.Fatalf("assertion: %v", err)
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`HTMLFormElement.prototype.submit.call(document.getElementById("passkey")), true`, &ok),
		chromedp.WaitVisible(".notice", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t); !strings.Contains(got, "Your passkey was accepted") {
		t.Fatalf("proof: %q", got)
	}
	audit(t, ctx, axe, "passkey accepted page")
	rs := e.h.Notes.Replies
	if last := rs[len(rs)-1]; last.MsgID != flows.MsgProvenMore {
		t.Fatalf("chat after the passkey: %s", last.MsgID)
	}
	en, _ = e.h.Store.Get(context.Background(), e.alice.ID)
	if got := en.Methods[flows.MethodPasskey].Passkeys[0].SignCount; got <= keys[0].SignCount {
		t.Fatalf("sign count not stored: %d after %d", got, keys[0].SignCount)
	}
	rs = e.h.Click(chat, e.alice.Mail, storetest.Choice(t, rs[len(rs)-1:], "Email"))
	rs = e.h.Say(chat, e.alice.Mail, storetest.CodeFrom(t, e.h.Mail.Last()))
	r := rs[len(rs)-1]
	if r.MsgID != flows.MsgResetLink || r.Link == "" {
		t.Fatalf("passkey plus email did not give the reset link: %v", storetest.IDs(rs))
	}
	err = chromedp.Run(ctx, chromedp.Navigate(r.Link), chromedp.WaitVisible("#password", chromedp.ByID),
		chromedp.SendKeys("#password", "Granite-Orchid-Lantern-8", chromedp.ByID), chromedp.SendKeys("#confirm", "Granite-Orchid-Lantern-8", chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID), chromedp.WaitVisible(".notice", chromedp.ByQuery))
	if err != nil || e.h.Dir.Passwords[e.alice.ID] != "Granite-Orchid-Lantern-8" {
		t.Fatalf("reset after the passkey: %v %q", err, text(ctx, t))
	}

	// the same assertion again: its link is spent; on a new link (a new challenge) it is refused
	e.h.Say(chat, e.alice.Mail, "cancel")
	link2 := passkeyLink(t, e, chat)
	replay := `(() => { const f = document.getElementById("passkey"); document.getElementById("response").value = ` + jsString(answer) +
		`; f.submit(); return true; })()`
	if got := prove2(t, ctx, link, replay); !strings.Contains(got, "not valid") && !strings.Contains(got, "expired") {
		t.Fatalf("replay on the spent link: %q", got)
	}
	if got := prove2(t, ctx, link2, replay); !strings.Contains(got, "not accepted") {
		t.Fatalf("replay on a new challenge: %q", got)
	}

	// another credential for this site, not Alice's (discoverable, so the page is made to
	// drop the list of Alice's keys): refused
	foreign := newCredential(t, "localhost", 0)
	if err := chromedp.Run(ctx, webauthn.ClearCredentials(auth), webauthn.AddCredential(auth, foreign)); err != nil {
		t.Fatal(err)
	}
	e.h.Say(chat, e.alice.Mail, "cancel")
	anyKey := `(() => { const f = document.getElementById("passkey"); const o = JSON.parse(f.getAttribute("data-options"));
		delete o.allowCredentials; f.setAttribute("data-options", JSON.stringify(o)); return true; })()`
	if got := prove(t, ctx, passkeyLink(t, e, chat), anyKey); !strings.Contains(got, "not accepted") {
		t.Fatalf("foreign credential: %q", got)
	}

	// a clone: Alice's key with a signature count below the one stored
	clone := original
	clone.SignCount = 0
	if err := chromedp.Run(ctx, webauthn.ClearCredentials(auth), webauthn.AddCredential(auth, &clone)); err != nil {
		t.Fatal(err)
	}
	e.h.Say(chat, e.alice.Mail, "cancel")
	if got := prove(t, ctx, passkeyLink(t, e, chat), ""); !strings.Contains(got, "not accepted") {
		t.Fatalf("cloned key: %q", got)
	}
	if a := al.actions(); len(a) != 1 || a[0] != "passkey_clone" {
		t.Fatalf("admins alerted of %v", a)
	}

	// the real key, but the authenticator says it did not verify the person: refused
	now := original
	now.SignCount = 1000
	if err := chromedp.Run(ctx, webauthn.ClearCredentials(auth), webauthn.AddCredential(auth, &now),
		webauthn.SetResponseOverrideBits(auth).WithIsBadUV(true)); err != nil {
		t.Fatal(err)
	}
	e.h.Say(chat, e.alice.Mail, "cancel")
	if got := prove(t, ctx, passkeyLink(t, e, chat), ""); !strings.Contains(got, "not accepted") {
		t.Fatalf("without user verification: %q", got)
	}
	en, _ = e.h.Store.Get(context.Background(), e.alice.ID)
	if f := en.Fails.Count; f != 4 {
		t.Fatalf("failed proofs counted: %d, want 4 (replay, foreign, clone, no UV)", f)
	}
	// and with it, the same key is accepted again
	if err := chromedp.Run(ctx, webauthn.SetResponseOverrideBits(auth).WithIsBadUV(false)); err != nil {
		t.Fatal(err)
	}
	e.h.Say(chat, e.alice.Mail, "cancel")
	if got := prove(t, ctx, passkeyLink(t, e, chat), ""); !strings.Contains(got, "accepted") || strings.Contains(got, "not accepted") {
		t.Fatalf("the real key after the refusals: %q", got)
	}
	// each refusal is audited with the check that failed
	e.h.Audit.Close()
	evs, err := store.Events(context.Background(), e.h.RDB)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range evs {
		if ev.Action == "passkey" && ev.Outcome == "refused" {
			reasons = append(reasons, ev.Reason)
		}
	}
	t.Logf("refusals: %q", reasons)
	want := []string{"challenge", "not owned by the user", "signature count went backwards", "User verification"}
	if len(reasons) != len(want) {
		t.Fatalf("refusals audited: %q", reasons)
	}
	for i, w := range want {
		if !strings.Contains(reasons[i], w) {
			t.Errorf("refusal %d: %q, want it to name %q", i+1, reasons[i], w)
		}
	}
}

// prove2 opens a passkey page and runs script, which posts the form itself.
func prove2(t *testing.T, ctx context.Context, link, script string) string {
	t.Helper()
	var ok bool
	err := chromedp.Run(ctx, chromedp.Navigate(link), chromedp.WaitVisible("main", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("passkey") !== null`, &ok)); err != nil || !ok {
		// a spent link shows no form: post to it anyway, as an attacker would
		script = `(() => { const f = document.createElement("form"); f.method = "post"; f.action = location.pathname;
			for (const [k, v] of [["csrf", "x"], ["response", ` + jsString("{}") + `]]) { const i = document.createElement("input");
			i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); } document.body.appendChild(f); f.submit(); return true; })()`
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(script, &ok), chromedp.WaitNotPresent("#pkgo", chromedp.ByID),
		chromedp.WaitVisible("main", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	return text(ctx, t)
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// newCredential is a discoverable P-256 credential for rpID that no one registered.
func newCredential(t *testing.T, rpID string, count int64) *webauthn.Credential {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &webauthn.Credential{CredentialID: base64.StdEncoding.EncodeToString(id), IsResidentCredential: true, RpID: rpID,
		PrivateKey: base64.StdEncoding.EncodeToString(der), UserHandle: base64.StdEncoding.EncodeToString([]byte("someone-else")),
		SignCount: count}
}
