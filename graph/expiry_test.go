package graph_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store/storetest"
)

func days(n int) *int { return &n }

// expiryTenant has cloud users on three domains: 30-day passwords, the property never set
// (90 days), and passwords that never expire; one user with DisablePasswordExpiration, and one
// synced from AD.
func expiryTenant(t *testing.T, changed time.Time) (*graphtest.Tenant, *graph.Directory) {
	t.Helper()
	tn := graphtest.New()
	tn.Domains = []graphtest.Domain{{ID: "short.test", Verified: true, ValidityDays: days(30)},
		{ID: "unset.test", Verified: true}, {ID: "forever.test", Verified: true, ValidityDays: days(2147483647)}}
	tn.AddGroup(graphtest.Group{ID: graphtest.SSPRGroup, Name: "SSPR users"})
	add := func(id, upn, policies string, synced bool) {
		tn.AddUser(graphtest.User{ID: id, UPN: upn, Mail: upn, DisplayName: id, Enabled: true, Synced: synced,
			Groups: []string{graphtest.SSPRGroup}, PasswordChanged: changed, PasswordPolicies: policies})
	}
	add("u-short", "ann@short.test", "", false)
	add("u-unset", "ben@unset.test", "", false)
	add("u-forever", "cy@forever.test", "", false)
	add("u-disabled", "dee@short.test", "DisablePasswordExpiration", false)
	add("u-synced", "eve@short.test", "", true)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	tn.Strict(t)
	return setupWith(t, tn)
}

func TestPasswordExpiriesFromGraph(t *testing.T) {
	changed := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	tn, d := expiryTenant(t, changed)
	tn.PageSize = 2
	got := map[string]flows.PasswordExpiry{}
	for _, groups := range [][]string{nil, {graphtest.SSPRGroup}} {
		if err := d.PasswordExpiries(context.Background(), groups, func(p flows.PasswordExpiry) error {
			got[p.Account.ID] = p
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !got["u-short"].ExpiresAt.Equal(changed.Add(30*24*time.Hour)) || !got["u-short"].ChangedAt.Equal(changed) {
			t.Fatalf("30-day domain: %+v", got["u-short"])
		}
		if !got["u-unset"].ExpiresAt.Equal(changed.Add(90 * 24 * time.Hour)) {
			t.Fatalf("unset domain: %+v", got["u-unset"])
		}
		for _, id := range []string{"u-forever", "u-disabled"} {
			if p, ok := got[id]; !ok || !p.ExpiresAt.IsZero() {
				t.Fatalf("%s never expires: %+v", id, p)
			}
		}
		if _, ok := got["u-synced"]; ok {
			t.Fatal("a synced user's expiry came from Entra")
		}
	}
	// without Domain.Read.All the walk fails as Graph answers it
	tn.AppPermissions = []string{"User.Read.All", "GroupMember.Read.All"}
	_, d2 := setupWith(t, tn)
	if err := d2.PasswordExpiries(context.Background(), nil, func(flows.PasswordExpiry) error { return nil }); err == nil {
		t.Fatal("domains listed without Domain.Read.All")
	}
}

// Expiry reminders reach Entra users once per stage across three replicas; a reset through
// the directory moves lastPasswordChangeDateTime, so no further reminder comes, and the report
// counts the change after the reminder.
func TestExpiryRemindersReachEntraUsersOnceAcrossThreeReplicas(t *testing.T) {
	h := storetest.New(t)
	now := h.Clock.Now()                                // 09:00 UTC
	tn, d := expiryTenant(t, now.Add(-24*24*time.Hour)) // 30-day passwords: 6 days left
	h.Deps.Directory = d
	p := h.Policy
	p.EnabledFor, p.Groups = flows.EnabledAll, nil
	if _, err := h.Store.PutPolicy(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	roster := storetest.ChatRoster{}
	for _, m := range []string{"ann@short.test", "ben@unset.test", "cy@forever.test", "dee@short.test"} {
		roster[m] = flows.ChatTarget{Chat: storetest.Chat(m), TZ: time.UTC}
	}
	replicas := make([]*flows.ExpiryReminders, 3)
	for i := range replicas {
		replicas[i] = flows.NewExpiryReminders(flows.New(h.Deps, h.Opts), h.Store, h.Store, d, roster)
	}
	run := func() {
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
	count := func() map[string]int {
		got := map[string]int{}
		for i, r := range h.Notes.Replies {
			if r.MsgID == flows.MsgExpiryReminder {
				got[h.Notes.To[i].UserID]++
			}
		}
		return got
	}
	run()
	run()
	if got := count(); len(got) != 1 || got["ann@short.test"] != 1 {
		t.Fatalf("reminders: %v", got)
	}
	rep, err := h.Engine.ExpiryFigures(context.Background(), d, h.Store)
	if err != nil || rep.Expiring7 != 1 || rep.ChangedAfterReminder != 0 { // Ann; Dee's never expires, Eve is synced
		t.Fatalf("report before the change: %+v %v", rep, err)
	}
	// Ann changes her password (a reset through Graph moves lastPasswordChangeDateTime)
	tn.Clock = h.Clock.Now
	h.Clock.Advance(time.Hour)
	if err := d.SetPassword(context.Background(), "u-short", "Correct-Horse-Battery-9", false); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(3 * 24 * time.Hour) // the 3-day stage of the old password has come
	run()
	if got := count(); got["ann@short.test"] != 1 {
		t.Fatalf("reminded after the change: %v", got)
	}
	rep, err = h.Engine.ExpiryFigures(context.Background(), d, h.Store)
	if err != nil || rep.Expiring7 != 0 || rep.ChangedAfterReminder != 1 {
		t.Fatalf("report after the change: %+v %v", rep, err)
	}
}
