package flows_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/graphtest"
	"github.com/resetbot/resetbot/store/storetest"
)

// demoAccounts are the demo tenant's people (every kind the demo shows: eligible, outside the
// group, privileged, synced from AD, disabled, bot admins, a helpdesk agent) as the directory
// reports them to flows: a directory role makes a user privileged.
func demoAccounts() []flows.Account {
	t := graphtest.New()
	var out []flows.Account
	for _, us := range [][]graphtest.User{graphtest.DemoUsers(t), graphtest.DemoAdmins(t), graphtest.DemoHelpdesk(t)} {
		for _, u := range us {
			out = append(out, flows.Account{ID: u.ID, UPN: u.UPN, Mail: u.Mail, DisplayName: u.DisplayName, Enabled: u.Enabled,
				Synced: u.Synced, Groups: u.Groups, Privileged: len(u.Roles) > 0})
		}
	}
	return out
}

// TestEligibilityOneRule: the chat engine, the registration reminders and the report agree on
// who may use self-service, for every demo user kind and every deployment setting that changes
// it; and that is who the rule says. None of them may judge it alone.
func TestEligibilityOneRule(t *testing.T) {
	users := demoAccounts()
	for _, cfg := range []struct{ privileged, ad bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("privileged=%v,ad=%v", cfg.privileged, cfg.ad), func(t *testing.T) {
			h := storetest.New(t)
			h.Opts.AllowPrivileged, h.Opts.ADConfigured = cfg.privileged, cfg.ad
			for _, a := range users {
				h.Dir.Add(a)
			}
			// what the rule says, kind by kind
			var want []string
			for _, a := range users {
				inGroup := slices.Contains(a.Groups, graphtest.SSPRGroup)
				if a.Enabled && inGroup && (!a.Privileged || cfg.privileged) && (!a.Synced || cfg.ad) {
					want = append(want, a.UPN)
				}
			}
			agree(t, h, users, h.Dir, users, want)
		})
	}
}

// The same over the hybrid router (Entra and AD): a synced person's AD account counts in the
// reminders and the report as in a chat step, where AD protects them, has them disabled, or
// has no account for them.
func TestEligibilityOneRuleHybrid(t *testing.T) {
	cloud := demoAccounts()
	onprem := storetest.NewDirectory()
	sid := func(n int) string { return fmt.Sprintf("S-1-5-21-7-7-7-%d", 1100+n) }
	for i := range cloud {
		if cloud[i].Synced { // Dave: an ordinary AD account
			cloud[i].OnPremSID = sid(0)
			onprem.Add(flows.Account{ID: "ad-dave", UPN: cloud[i].UPN, Enabled: true, Synced: true, OnPremSID: sid(0)})
		}
	}
	for i, kind := range []string{"protected", "disabled", "missing"} {
		a := flows.Account{ID: fmt.Sprintf("5c0000%02d-0000-4000-8000-000000000000", i), UPN: kind + "@contoso.test", Mail: kind + "@contoso.test",
			DisplayName: kind, Enabled: true, Synced: true, Groups: []string{graphtest.SSPRGroup}, OnPremSID: sid(i + 1)}
		cloud = append(cloud, a)
		if kind != "missing" {
			onprem.Add(flows.Account{ID: "ad-" + kind, UPN: a.UPN, Enabled: kind != "disabled", Synced: true, OnPremSID: a.OnPremSID,
				Privileged: kind == "protected"})
		}
	}
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("privileged=%v", allow), func(t *testing.T) {
			h := storetest.New(t)
			for _, a := range cloud {
				h.Dir.Add(a)
			}
			r := flows.Router{Cloud: h.Dir, OnPrem: onprem}
			h.Deps.Directory = r
			h.Opts.AllowPrivileged, h.Opts.ADConfigured = allow, true
			want := []string{"alice@contoso.test", "dave@contoso.test"}
			if allow {
				want = append(want, "carol@contoso.test", "protected@contoso.test")
			}
			sort.Strings(want)
			// the expiry walk of a hybrid with selected groups: Entra's cloud-only users (AD's
			// own walk is for self-service for all; Router.PasswordExpiries)
			var expiring []flows.Account
			for _, a := range cloud {
				if !a.Synced {
					expiring = append(expiring, a)
				}
			}
			agree(t, h, cloud, r.Capabilities().Roster, expiring, want)
		})
	}
}

// agree checks that the engine, a reminder campaign, the report and the expiry reminders'
// button each find exactly want (UPNs) eligible among users, none of whom has registered;
// expiring is what the directory's expiry walk lists.
func agree(t *testing.T, h *storetest.Harness, users []flows.Account, roster flows.Roster, expiring []flows.Account, want []string) {
	t.Helper()
	ctx := context.Background()
	h.Rebuild()
	_, v, err := h.Store.GetPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pol := h.Policy
	pol.Groups = []string{graphtest.SSPRGroup}
	if _, err := h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	chats := storetest.ChatRoster{}
	byChat := map[string]string{}
	for _, a := range users {
		chats[a.Mail] = flows.ChatTarget{Chat: storetest.Chat("C-" + a.ID)}
		byChat["C-"+a.ID] = a.UPN
	}
	sort.Strings(want)
	if len(want) == 0 || len(want) == len(users) {
		t.Fatalf("the users should be on both sides of the rule: %v", want)
	}

	// the engine: an unregistered eligible person is told to register, anyone else gets the
	// helpdesk reply
	var engine []string
	for _, a := range users {
		if !hasMsg(h.Say("C-"+a.ID, a.Mail, "reset my password"), flows.MsgHelpdesk) {
			engine = append(engine, a.UPN)
		}
	}
	sort.Strings(engine)

	// the reminders: everyone the campaign reached (nobody has registered)
	r := flows.NewReminders(h.Engine, h.Store, roster, chats)
	if _, err := r.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := r.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var reminded []string
	for i, rep := range h.Notes.Replies {
		if rep.MsgID == flows.MsgReminder {
			reminded = append(reminded, byChat[h.Notes.To[i].UserID])
		}
	}
	sort.Strings(reminded)

	// the report: its per-user rows and its "in scope" count
	rep, err := h.Engine.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	for _, row := range rep.Rows[1:] {
		reported = append(reported, row[0])
	}
	sort.Strings(reported)

	// the expiry reminders: "Change it now" under the reminder only for who may self-serve (every
	// enabled person's password expires in three days; the walk leaves disabled accounts out)
	var list expiries
	var enabledWant []string
	for _, a := range expiring {
		list = append(list, flows.PasswordExpiry{Account: a, ExpiresAt: h.Clock.Now().Add(3 * 24 * time.Hour)})
		if a.Enabled && slices.Contains(want, a.UPN) {
			enabledWant = append(enabledWant, a.UPN)
		}
	}
	h.Notes.Replies, h.Notes.To = nil, nil
	x := flows.NewExpiryReminders(h.Engine, h.Store, h.Store, list, chats)
	if _, err := x.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := x.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var buttons []string
	for i, rep := range h.Notes.Replies {
		if rep.MsgID == flows.MsgExpiryReminder && len(rep.Choices) > 0 {
			buttons = append(buttons, byChat[h.Notes.To[i].UserID])
		}
	}
	sort.Strings(buttons)
	if !slices.Equal(buttons, enabledWant) {
		t.Errorf("expiry reminders offer the change to %v; the rule says %v", buttons, enabledWant)
	}

	for name, got := range map[string][]string{"engine": engine, "reminders": reminded, "report": reported} {
		if !slices.Equal(got, want) {
			t.Errorf("%s judges %v eligible; the rule says %v", name, got, want)
		}
	}
	if rep.InScope != len(want) {
		t.Errorf("report: %d in scope, want %d", rep.InScope, len(want))
	}
}
