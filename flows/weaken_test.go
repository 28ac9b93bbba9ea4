package flows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// One bot admin's word does not turn off the notices or the sign-out after a reset, nor take a
// term off the banned-password list: each waits for a confirmation and a second admin, and the
// policy is unchanged meanwhile. Strengthening changes apply at once.
func TestWeakeningCommandsNeedTheSecondAdmin(t *testing.T) {
	h := storetest.New(t)
	h.Dir.Add(flows.Account{ID: "bob", Mail: "bob@contoso.test", Enabled: true, Groups: []string{"admins"}})
	h.Opts.AdminGroups = []string{"admins"}
	h.Rebuild()
	ctx := context.Background()
	admin := func(text string) string {
		t.Helper()
		rs, err := h.Engine.Admin(ctx, flows.Inbound{Chat: storetest.Chat("bob"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: "bob@contoso.test"}}, text)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0].Text
	}
	if out := admin("policy banned add granite"); !strings.Contains(out, "Done: 1 custom banned terms") {
		t.Fatalf("banned add: %q", out)
	}
	before, v, _ := h.Store.GetPolicy(ctx)
	for cmd, why := range map[string]string{
		"policy set revoke_sessions off":  "sessions are no longer signed out after a reset",
		"policy set notify_user off":      "users are no longer told of a reset",
		"policy set notify_admins off":    "bot admins are no longer told of privileged resets",
		"policy banned remove granite":    "unbans granite",
		"policy set enabled_for all":      "wider scope",
		"policy set phone_countries 1,44": "adds calling code +44",
	} {
		out := admin(cmd)
		if !strings.Contains(out, "This change weakens the policy ("+why+")") || !strings.Contains(out, "Nothing changed yet") {
			t.Errorf("%s: %q", cmd, out)
		}
	}
	after, v2, _ := h.Store.GetPolicy(ctx)
	if v2 != v || !after.RevokeSessions || !after.NotifyUser || !after.NotifyAdmins || len(after.BannedTerms) != 1 ||
		after.EnabledFor != before.EnabledFor || len(after.PhoneCountries) != 1 {
		t.Fatalf("the policy changed on one admin's word: version %d → %d, %+v", v, v2, after)
	}
	// the other way round is stronger and applies at once
	if out := admin("policy set tries_max 3"); !strings.Contains(out, "Done: tries_max = 3") {
		t.Fatalf("strengthening: %q", out)
	}
}
