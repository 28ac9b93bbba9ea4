package main

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/graph/ad"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// hybridWorld is the product over Entra (graphtest) and Active Directory (a Samba DC) behind
// the hybrid router, as main wires it when both are configured.
func hybridWorld(t *testing.T) (*world, *adtest.DC, *ad.Directory, flows.Router) {
	t.Helper()
	dc := adtest.Get(t)
	onprem, err := ad.New(ad.Config{URL: dc.URL, CAFile: dc.CAFile, BindDN: dc.ServiceDN, BindPassword: dc.ServicePW,
		BaseDN: adtest.BaseDN, Log: slog.New(slog.NewTextHandler(&strings.Builder{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(onprem.Close)
	var r flows.Router
	w := newWorld(t, func(o *app.Options) {
		r = flows.Router{Cloud: o.Directory.Directory, OnPrem: onprem}
		o.Directory = app.Directory{Directory: r, AD: true}
	})
	return w, dc, onprem, r
}

// syncedUser creates an AD user and its Entra twin (synced, with the AD objectSid).
func syncedUser(t *testing.T, w *world, dc *adtest.DC, onprem *ad.Directory, id string) (graphtest.User, adtest.User) {
	t.Helper()
	u := dc.CreateUser(t, "hy")
	a, err := onprem.Lookup(context.Background(), flows.Claim{Kind: flows.ClaimUPN, Value: u.Name})
	if err != nil {
		t.Fatal(err)
	}
	g := graphtest.User{ID: id, UPN: u.UPN, Mail: u.Mail, DisplayName: "Sam Synced", Password: graphtest.DemoPassword,
		Enabled: true, Synced: true, OnPremSID: a.OnPremSID, Groups: []string{graphtest.SSPRGroup}}
	w.tenant.AddUser(g)
	return g, u
}

// verifyInChat proves the authenticator app and the email code on the console.
func (w *world) verifyInChat(t *testing.T, upn, secret, text string) []flows.Reply {
	t.Helper()
	w.clock.Advance(time.Minute)
	if rs := w.say(t, upn, text); !msgIn(rs, flows.MsgChooseMethod) {
		t.Fatalf("start: %s", storetest.Render(rs))
	}
	w.say(t, upn, "1")
	code, _ := totp.Code(secret, w.clock.Now())
	w.say(t, upn, code)
	sent := len(w.smtp.Messages())
	w.say(t, upn, "2") // email keeps its number
	return w.say(t, upn, mailCode(t, w.smtp.Wait(t, sent+1)[sent]))
}

func TestHybridRouterSendsSyncedUsersToADAndCloudUsersToGraph(t *testing.T) {
	w, dc, onprem, router := hybridWorld(t)
	// the injected clock starts at the DC's time: the lockout poller reads real lockout times
	w.clock.Advance(time.Since(w.clock.Now()))
	sam, samAD := syncedUser(t, w, dc, onprem, "5a11ced0-0000-4000-8000-000000000001")
	alice := w.users[0]
	_, samSecret, _ := w.registerOnWeb(t, linkIn(t, w.say(t, sam.UPN, "register")), sam)
	_, aliceSecret, _ := w.registerOnWeb(t, linkIn(t, w.say(t, alice.UPN, "register")), alice)

	// the synced user, locked out in AD: unlocked there, then reset there
	dc.Lock(t, samAD)
	rs := w.verifyInChat(t, sam.UPN, samSecret, "I'm locked out")
	if !msgIn(rs, flows.MsgUnlocked) || msgIn(rs, flows.MsgUnlockIsReset) {
		t.Fatalf("synced unlock: %s", storetest.Render(rs))
	}
	if err := dc.Bind(samAD.DN, samAD.Password); err != nil {
		t.Fatalf("bind after unlock: %v", err)
	}
	b := webtest.New(t, w.web.Client())
	b.Get(linkIn(t, rs))
	b.Submit("", url.Values{"password": {"Harbor!Lights-7781"}, "confirm": {"Harbor!Lights-7781"}})
	if !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset page: %s", b.Last)
	}
	if err := dc.Bind(samAD.DN, "Harbor!Lights-7781"); err != nil {
		t.Fatalf("AD does not have the new password: %v", err)
	}
	for _, c := range w.tenant.Changes() {
		if c.UserID == sam.ID && c.Kind == "password" {
			t.Fatalf("a synced user's password went to Graph: %+v", c)
		}
	}
	if u, _ := w.tenant.User(sam.ID); u.Password != graphtest.DemoPassword {
		t.Fatal("graphtest's copy changed")
	}
	w.eng.Drain() // the revocation runs after the page answered
	revoked := false
	for _, c := range w.tenant.Changes() {
		revoked = revoked || (c.UserID == sam.ID && c.Kind == "revoke")
	}
	if !revoked {
		t.Fatal("the synced user's Entra sessions were not revoked")
	}

	// the cloud-only user: unlocking is a reset, in Entra
	rs = w.verifyInChat(t, alice.UPN, aliceSecret, "I'm locked out")
	if !msgIn(rs, flows.MsgResetLink) || msgIn(rs, flows.MsgUnlocked) {
		t.Fatalf("cloud unlock: %s", storetest.Render(rs))
	}
	b.Get(linkIn(t, rs))
	b.Submit("", url.Values{"password": {"Cloud!Meadow-5521"}, "confirm": {"Cloud!Meadow-5521"}})
	if u, _ := w.tenant.User(alice.ID); u.Password != "Cloud!Meadow-5521" {
		t.Fatalf("graphtest does not have the cloud user's new password: %s", b.Last)
	}

	// AD protection counts though Entra knows no role: a Domain Admins member is refused
	boss, bossAD := syncedUser(t, w, dc, onprem, "5a11ced0-0000-4000-8000-000000000002")
	dc.AddMember(t, "CN=Domain Admins,"+adtest.Users, bossAD.DN)
	w.eng.Forget("console:local:" + boss.UPN)
	if rs := w.say(t, boss.UPN, "I'm locked out"); !msgIn(rs, flows.MsgHelpdesk) {
		t.Fatalf("protected synced user: %s", storetest.Render(rs))
	}

	// a lockout is noticed through the router and announced in the chat the user registered from
	dc.Lock(t, samAD)
	lw := flows.NewLockoutWatch(w.eng, router, w.st, w.st, "replica-1")
	n, err := lw.Poll(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("poll: %d %v", n, err)
	}
	if !strings.Contains(w.out.String(), "Your account was locked at") {
		t.Fatalf("no alert in chat:\n%s", w.out.String())
	}
}
