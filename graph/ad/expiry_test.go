package ad_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/bot/web/webtest"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/ad/adtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// The DC computes msDS-UserPasswordExpiryTimeComputed: the domain's maximum age after the last
// change, never for DONT_EXPIRE_PASSWORD.
func TestPasswordExpiriesFromTheDC(t *testing.T) {
	dc := adtest.Get(t)
	d, _ := directory(t, dc)
	alice := dc.CreateUser(t, "exp")
	forever := dc.CreateUser(t, "nexp")
	dc.Modify(t, forever.DN, map[string][]string{"userAccountControl": {"66048"}}) // 512 | DONT_EXPIRE_PASSWORD
	got := map[string]flows.PasswordExpiry{}
	if err := d.PasswordExpiries(context.Background(), nil, func(p flows.PasswordExpiry) error {
		got[p.Account.UPN] = p
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a, ok := got[alice.UPN]
	if !ok || a.ExpiresAt.IsZero() || a.ChangedAt.IsZero() {
		t.Fatalf("alice: %+v", a)
	}
	// Samba's default maximum password age is 42 days
	if life := a.ExpiresAt.Sub(a.ChangedAt); life != 42*24*time.Hour {
		t.Fatalf("alice's password lives %v", life)
	}
	if time.Since(a.ChangedAt) > time.Hour || time.Since(a.ChangedAt) < -time.Minute {
		t.Fatalf("changed at %v", a.ChangedAt)
	}
	if f, ok := got[forever.UPN]; !ok || !f.ExpiresAt.IsZero() {
		t.Fatalf("never-expiring: %+v", f)
	}
}

// runReplicas plans and steps three schedulers over one Redis at once, until none claims more.
func runReplicas(t *testing.T, replicas []*flows.ExpiryReminders) {
	t.Helper()
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Plan(context.Background()); err != nil {
				t.Error(err)
				return
			}
			for {
				n, err := r.Step(context.Background())
				if err != nil {
					t.Error(err)
				}
				if err != nil || n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Expiry reminders reach AD users, by the DC's msDS-UserPasswordExpiryTimeComputed, once per
// stage across three replicas; a password that never expires gets none.
func TestExpiryRemindersReachADUsersOnceAcrossThreeReplicas(t *testing.T) {
	dc := adtest.Get(t)
	h, d, _ := adBot(t, dc, nil)
	alice := dc.CreateUser(t, "expr")
	forever := dc.CreateUser(t, "nexr")
	dc.Modify(t, forever.DN, map[string][]string{"userAccountControl": {"66048"}})
	var exp time.Time
	if err := d.PasswordExpiries(context.Background(), nil, func(p flows.PasswordExpiry) error {
		if p.Account.UPN == alice.UPN {
			exp = p.ExpiresAt
		}
		return nil
	}); err != nil || exp.IsZero() {
		t.Fatalf("expiry %v: %v", exp, err)
	}
	// six days before the expiry, at noon in the person's time zone
	h.Clock.Advance(exp.Add(-6 * 24 * time.Hour).Sub(h.Clock.Now()))
	tz := time.FixedZone("local", (12-h.Clock.Now().UTC().Hour())*3600)
	roster := storetest.ChatRoster{
		alice.Mail:   {Chat: storetest.Chat("UA"), TZ: tz},
		forever.Mail: {Chat: storetest.Chat("UF"), TZ: tz},
	}
	replicas := make([]*flows.ExpiryReminders, 3)
	for i := range replicas {
		replicas[i] = flows.NewExpiryReminders(flows.New(h.Deps, h.Opts), h.Store, h.Store, d, roster)
	}
	count := func() (a, f int) {
		for i, r := range h.Notes.Replies {
			if r.MsgID != flows.MsgExpiryReminder {
				continue
			}
			switch h.Notes.To[i].UserID {
			case "UA":
				a++
			case "UF":
				f++
			}
		}
		return a, f
	}
	runReplicas(t, replicas)
	runReplicas(t, replicas)
	if a, f := count(); a != 1 || f != 0 {
		t.Fatalf("reminders: alice %d, never-expiring %d", a, f)
	}
	// four days on: the 3-day stage, once more
	h.Clock.Advance(4 * 24 * time.Hour)
	runReplicas(t, replicas)
	if a, f := count(); a != 2 || f != 0 {
		t.Fatalf("3-day stage: alice %d, never-expiring %d", a, f)
	}
}

// "Change it now" in an AD-only deployment: the page asks for the current AD password (a bind
// as the person), then the new-password form; the DC has the new password afterwards.
func TestChangePageChangesTheADPassword(t *testing.T) {
	dc := adtest.Get(t)
	h, _, _ := adBot(t, dc, nil)
	srv := httptest.NewTLSServer(web.New(h.Engine, nil, h.Crypto, h.Store, slogDiscard()).Handler())
	t.Cleanup(srv.Close)
	u := dc.CreateUser(t, "chg")
	rs := h.Click("U7", u.Mail, flows.ExpiryChoice)
	if !storetest.Has(rs, flows.MsgChangeLink) {
		t.Fatalf("change: %s", storetest.Render(rs))
	}
	b := webtest.New(t, srv.Client())
	b.Get(strings.Replace(storetest.Link(t, rs), "https://bot.test", srv.URL, 1))
	b.Submit("", nil)
	if b.Status != 200 || !strings.Contains(b.Last, `autocomplete="current-password"`) {
		t.Fatalf("sign-in page: %d %s", b.Status, b.Last)
	}
	b.Submit("/signin", url.Values{"password": {u.Password}})
	if b.Status != 200 || b.URL.Path != "/change" || !strings.Contains(b.Last, `name="confirm"`) {
		t.Fatalf("after the current password: %d %s %s", b.Status, b.URL, b.Last)
	}
	const next = "Kestrel-Harbour-58"
	b.Submit("", url.Values{"password": {next}, "confirm": {next}})
	if b.Status != 200 || !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("change: %d %s", b.Status, b.Last)
	}
	if err := dc.Bind(u.DN, next); err != nil {
		t.Fatalf("the new password does not bind: %v", err)
	}
	if err := dc.Bind(u.DN, u.Password); err == nil {
		t.Fatal("the old password still binds")
	}
}
