package ad_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

// adBot is the engine of an AD-only deployment: the real directory, a real redis-server.
func adBot(t *testing.T, dc *adtest.DC, pol func(*flows.Policy), edit ...func(*ad.Config)) (*storetest.Harness, *ad.Directory, *logBuf) {
	t.Helper()
	h := storetest.New(t)
	d, logs := directory(t, dc, edit...)
	h.Deps.Directory, h.Deps.SignIns = d, h.Store
	h.Opts.ADConfigured = true
	p := h.Policy
	p.EnabledFor, p.Groups = flows.EnabledAll, nil
	if pol != nil {
		pol(&p)
	}
	if _, err := h.Store.PutPolicy(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	return h, d, logs
}

// registered creates an AD user and registers an authenticator app and an email for them.
func registered(t *testing.T, h *storetest.Harness, dc *adtest.DC, d *ad.Directory) (adtest.User, string, string) {
	t.Helper()
	u := dc.CreateUser(t, "conv")
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	return u, id, h.Enrol(id)
}

// prove says text as chat and proves the authenticator app and the email code.
func prove(t *testing.T, h *storetest.Harness, chat, mail, secret, text string) []flows.Reply {
	t.Helper()
	h.Clock.Advance(time.Minute) // a fresh TOTP step for every conversation
	rs := h.Say(chat, mail, text)
	if !storetest.Has(rs, flows.MsgChooseMethod) {
		t.Fatalf("start: %s", storetest.Render(rs))
	}
	if storetest.Has(rs, flows.MsgUnlockIsReset) {
		t.Fatal("an AD account was told that unlocking means a reset")
	}
	rs = h.Click(chat, mail, storetest.Choice(t, rs, "Authenticator"))
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say(chat, mail, code)
	if !storetest.Has(rs, flows.MsgProvenMore) {
		t.Fatalf("totp: %s", storetest.Render(rs))
	}
	rs = h.Click(chat, mail, storetest.Choice(t, rs, "Email"))
	return h.Say(chat, mail, storetest.CodeFrom(t, h.Mail.Last()))
}

func tokenOf(link string) string { return link[strings.LastIndex(link, "/")+1:] }

func TestUnlockAndResetThroughTheConversation(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, nil)
	ctx := context.Background()
	u, id, secret := registered(t, h, dc, d)
	dc.Lock(t, u)

	rs := prove(t, h, "U1", u.Mail, secret, "I'm locked out")
	if !storetest.Has(rs, flows.MsgUnlocked) || !storetest.Has(rs, flows.MsgUnlockedResetToo) {
		t.Fatalf("unlock: %s", storetest.Render(rs))
	}
	if err := dc.Bind(u.DN, u.Password); err != nil {
		t.Fatalf("bind after the bot unlocked: %v", err)
	}
	if m := h.Mail.Last(); m.Subject != "Your account was unlocked" {
		t.Fatalf("notice: %+v", m)
	}
	// the same answer's link resets: the new password binds, the old one fails
	link := storetest.Link(t, rs)
	err := h.Engine.ResetPassword(ctx, tokenOf(link), "Orchard!Lantern-64", "Orchard!Lantern-64")
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := dc.Bind(u.DN, "Orchard!Lantern-64"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if err := dc.Bind(u.DN, u.Password); !strings.Contains(fmt.Sprint(err), "data 52e") {
		t.Fatalf("old password: %v", err)
	}
	h.Audit.Close()
	evs, err := store.Events(ctx, h.RDB)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range evs {
		if e.Subject == id && (e.Action == "unlock" || e.Action == "reset") {
			seen = append(seen, e.Action+":"+e.Outcome+":"+e.Reason)
		}
	}
	if strings.Join(seen, ",") != "unlock:ok:unlocked,unlock:ok:user_chosen" {
		t.Fatalf("audit: %v", seen)
	}
	// locked again: a reset alone also unlocks
	dc.Lock(t, u)
	u.Password = "Orchard!Lantern-64"
	rs = prove(t, h, "U1", u.Mail, secret, "reset my password")
	if storetest.Has(rs, flows.MsgUnlocked) || !storetest.Has(rs, flows.MsgResetLink) {
		t.Fatalf("reset flow: %s", storetest.Render(rs))
	}
	if err := h.Engine.ResetPassword(ctx, tokenOf(storetest.Link(t, rs)), "Granite!Comet-819", "Granite!Comet-819"); err != nil {
		t.Fatal(err)
	}
	if err := dc.Bind(u.DN, "Granite!Comet-819"); err != nil {
		t.Fatalf("bind after a reset of a locked account: %v", err)
	}
}

func TestUnlockOnlyAndNotLocked(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, func(p *flows.Policy) { p.AllowReset = false })
	u, id, secret := registered(t, h, dc, d)

	// not locked: nothing to unlock, and no reset link when resets are off
	rs := prove(t, h, "U2", u.Mail, secret, "unlock my account")
	if !storetest.Has(rs, flows.MsgNotLocked) || storetest.Has(rs, flows.MsgResetLink) {
		t.Fatalf("not locked: %s", storetest.Render(rs))
	}
	dc.Lock(t, u)
	rs = prove(t, h, "U2", u.Mail, secret, "I'm locked out")
	if !storetest.Has(rs, flows.MsgUnlocked) || storetest.Has(rs, flows.MsgUnlockedResetToo) {
		t.Fatalf("unlock only: %s", storetest.Render(rs))
	}
	for _, r := range rs {
		if r.Link != "" {
			t.Fatalf("a link with resets off: %+v", r)
		}
	}
	if err := dc.Bind(u.DN, u.Password); err != nil {
		t.Fatal(err)
	}
	// the session is over: a typed code is not taken as a proof
	snap, err := h.Store.Load(context.Background(), id, storetest.Chat("U2").Key())
	if err != nil || snap.Session != nil {
		t.Fatalf("session after unlock: %+v %v", snap.Session, err)
	}
	// resets off and unlock off: the helpdesk
	if _, err := h.Store.PutPolicy(context.Background(), func() flows.Policy {
		p, _, _ := h.Store.GetPolicy(context.Background())
		p.AllowUnlock, p.AllowReset = false, true
		return p
	}(), 2); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	h.Clock.Advance(time.Minute)
	dc.Lock(t, u)
	rs = prove(t, h, "U2", u.Mail, secret, "I'm locked out")
	if storetest.Has(rs, flows.MsgUnlocked) || !storetest.Has(rs, flows.MsgResetLink) {
		t.Fatalf("unlock off, reset on: %s", storetest.Render(rs))
	}
}

func TestDomainRulesAndRefusalsReachThePersonPlainly(t *testing.T) {
	dc := adtest.Get(t)
	ctx := context.Background()
	h, d, logs := adBot(t, dc, nil)
	u, _, secret := registered(t, h, dc, d)

	// the domain's minimum length is checked before AD is asked, in words
	dc.Modify(t, adtest.BaseDN, map[string][]string{"minPwdLength": {"14"}})
	t.Cleanup(func() { dc.Modify(t, adtest.BaseDN, map[string][]string{"minPwdLength": {"7"}}) })
	rs := prove(t, h, "U3", u.Mail, secret, "reset my password")
	tok := tokenOf(storetest.Link(t, rs))
	err := h.Engine.ResetPassword(ctx, tok, "Short!Pine-42", "Short!Pine-42")
	var pe *flows.PasswordError
	if !errors.As(err, &pe) || pe.Reason != "Use at least 14 characters (a rule of your domain)." {
		t.Fatalf("domain length: %v", err)
	}
	// a fine-grained password policy for this user: its rules, not the domain's, are the ones
	// checked and named
	h.Clock.Advance(time.Minute)
	applyPSO(t, dc, u, map[string]string{"msDS-MinimumPasswordLength": "18"})
	err = h.Engine.ResetPassword(ctx, tok, "Fifteen!Chars-42", "Fifteen!Chars-42")
	if !errors.As(err, &pe) || pe.Reason != "Use at least 18 characters (a rule of your domain)." {
		t.Fatalf("fine-grained length: %v", err)
	}
	// what AD refuses beyond the checks made before it comes back in words, never its codes
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID
	err = d.SetPassword(ctx, id, "Fifteen!Chars-42", false)
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "at least 18 characters") || strings.Contains(pe.Reason, "52D") {
		t.Fatalf("refused by AD: %v", err)
	}
	if !strings.Contains(logs.String(), "does not meet the domain's rules") {
		t.Fatalf("log: %s", logs.String())
	}
	// the link survived the refusals: a good password still works
	if err := h.Engine.ResetPassword(ctx, tok, "Eighteen!Characters-42", "Eighteen!Characters-42"); err != nil {
		t.Fatalf("good password: %v", err)
	}
	if err := dc.Bind(u.DN, "Eighteen!Characters-42"); err != nil {
		t.Fatal(err)
	}

	// a Domain Admins member asking the bot gets the same helpdesk reply as a stranger
	da := dc.CreateUser(t, "dachat")
	daID := lookup(t, d, flows.ClaimUPN, da.Name).ID
	h.Enrol(daID)
	dc.AddMember(t, "CN=Domain Admins,"+adtest.Users, da.DN)
	h.Rebuild()
	for _, mail := range []string{da.Mail, "nobody@resetbot.test"} {
		rs := h.Say("U4-"+mail, mail, "I'm locked out")
		if len(rs) != 1 || rs[0].MsgID != flows.MsgHelpdesk {
			t.Fatalf("%s: %s", mail, storetest.Render(rs))
		}
	}
}

func TestServiceAccountWithoutRightsGetsAPoliteReply(t *testing.T) {
	dc := adtest.Get(t)
	h, d, logs := adBot(t, dc, nil, func(c *ad.Config) { c.BindDN, c.BindPassword = dc.BareDN, dc.BarePW })
	u, _, secret := registered(t, h, dc, d)
	dc.Lock(t, u)
	rs := prove(t, h, "U5", u.Mail, secret, "I'm locked out")
	if !storetest.Has(rs, flows.MsgTrouble) || storetest.Has(rs, flows.MsgUnlocked) {
		t.Fatalf("replies: %s", storetest.Render(rs))
	}
	if strings.Contains(storetest.Render(rs), "Insufficient") || strings.Contains(storetest.Render(rs), "CN=") {
		t.Fatalf("the person sees the directory's error: %s", storetest.Render(rs))
	}
	l := logs.String()
	if !strings.Contains(l, "lacks the right") || !strings.Contains(l, u.DN) {
		t.Fatalf("log: %s", l)
	}
	if err := dc.Bind(u.DN, u.Password); !strings.Contains(fmt.Sprint(err), "data 775") {
		t.Fatalf("still locked: %v", err)
	}
}

// The step-up of an AD-only deployment: the registration page asks for the current password,
// checked by a bind as the user, at most three wrong ones a day (here under a policy that locks
// after ten; with a threshold of three the page stops earlier, see
// TestPageSignInNeverLocksTheAccount).
func TestPasswordSignInOnTheRegistrationPage(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, nil)
	srv := httptest.NewTLSServer(web.New(h.Engine, nil, h.Crypto, h.Store, slogDiscard()).Handler())
	t.Cleanup(srv.Close)
	h.Deps.Clock = h.Clock
	u := dc.CreateUser(t, "step")
	applyPSO(t, dc, u, map[string]string{"msDS-LockoutThreshold": "10"})
	id := lookup(t, d, flows.ClaimUPN, u.Name).ID

	open := func(chat string) *webtest.Browser {
		rs := h.Say(chat, u.Mail, "register")
		link := strings.Replace(storetest.Link(t, rs), "https://bot.test", srv.URL, 1)
		b := webtest.New(t, srv.Client())
		b.Get(link)
		b.Submit("", nil)
		if b.Status != 200 || !strings.Contains(b.Last, `autocomplete="current-password"`) {
			t.Fatalf("sign-in page: %d %s", b.Status, b.Last)
		}
		return b
	}
	b := open("U6")
	for i := 0; i < 3; i++ {
		b.Submit("/signin", url.Values{"password": {"Wrong!" + fmt.Sprint(i)}})
		if b.Status != 401 || !strings.Contains(b.Last, "That password isn") {
			t.Fatalf("wrong password %d: %d %s", i, b.Status, b.Last)
		}
	}
	b.Submit("/signin", url.Values{"password": {u.Password}})
	if b.Status != 403 || !strings.Contains(b.Last, "Too many wrong passwords today") {
		t.Fatalf("fourth try: %d %s", b.Status, b.Last)
	}
	if bad := badPwdCount(t, dc, u.DN); bad != 3 {
		t.Fatalf("the refused try reached AD: badPwdCount %d", bad)
	}
	// the next day the right password signs in, pins the chat and opens the registration page
	h.Clock.Advance(24 * time.Hour)
	b = open("U6")
	b.Submit("/signin", url.Values{"password": {u.Password}})
	if b.Status != 200 || !strings.Contains(b.URL.Path, "/enrol") {
		t.Fatalf("right password: %d %s %s", b.Status, b.URL, b.Last)
	}
	if pinned, _ := h.Store.Pinned(context.Background(), storetest.Chat("U6").Key()); pinned != id {
		t.Fatalf("pinned to %q", pinned)
	}
	if chats, _ := h.Store.ChatsOf(context.Background(), id); len(chats) != 1 || chats[0] != storetest.Chat("U6").Key() {
		t.Fatalf("chats of the user: %v", chats)
	}
}

func badPwdCount(t *testing.T, dc *adtest.DC, dn string) int {
	res, err := dc.Admin(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"badPwdCount"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(res.Entries[0].GetAttributeValue("badPwdCount"), &n)
	return n
}

// The generated temporary password of the "temporary" reset mode must be changed at the next
// sign-in: AD answers a bind with it with 773.
func TestTemporaryPasswordMustBeChangedAtNextSignIn(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, func(p *flows.Policy) { p.ResetMode = flows.ResetTemporary })
	u, _, secret := registered(t, h, dc, d)
	dc.Lock(t, u)
	rs := prove(t, h, "U8", u.Mail, secret, "forgot my password")
	pw, mode, err := h.Engine.IssueTemporary(context.Background(), tokenOf(storetest.Link(t, rs)))
	if err != nil || mode != flows.ResetTemporary || len(pw) < 16 {
		t.Fatalf("issue: %q %v %v", pw, mode, err)
	}
	if err := dc.Bind(u.DN, pw); !strings.Contains(fmt.Sprint(err), "data 773") {
		t.Fatalf("bind with the temporary password: %v, want data 773 (must change)", err)
	}
	if err := dc.Bind(u.DN, u.Password); !strings.Contains(fmt.Sprint(err), "data 52e") {
		t.Fatalf("old password: %v", err)
	}
}
