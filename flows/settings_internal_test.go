package flows

import (
	"strings"
	"testing"
)

// Every setting declares how a change weakens the policy, and the declaration holds in both
// directions: from a to b, and back from b to a. A setting added without a case here fails.
func TestEverySettingDeclaresItsWeakening(t *testing.T) {
	cases := map[string]struct {
		a, b       string
		aToB, bToA string // the reason Weakens gives ("" when not weaker)
	}{
		"enabled_for":          {"selected", "all", "wider scope", ""},
		"groups":               {"g1", "g1,g2", "adds group g2", ""},
		"methods":              {"totp,email", "totp,email,sms", "adds sms", ""},
		"required":             {"2", "1", "fewer methods required", ""},
		"allow_phone_alone":    {"off", "on", "lets SMS or a call alone complete a reset", ""},
		"passkey_alone":        {"off", "on", "lets a passkey alone complete a reset", ""},
		"require_registration": {"on", "off", "", ""},
		"reconfirm_days":       {"180", "0", "longer reconfirmation", ""},
		"questions_register":   {"5", "3", "fewer questions to register", ""},
		"questions_answer":     {"5", "3", "fewer questions to answer", ""},
		"notify_user":          {"on", "off", "users are no longer told of a reset", ""},
		"notify_admins":        {"on", "off", "bot admins are no longer told of privileged resets", ""},
		"allow_reset":          {"off", "on", "lets verified users reset", ""},
		"allow_unlock":         {"off", "on", "lets verified users unlock without a new password", ""},
		"reset_mode":           {"user_chosen", "tap", "", ""},
		"revoke_sessions":      {"on", "off", "sessions are no longer signed out after a reset", ""},
		"fail_max":             {"5", "10", "looser attempt limits", ""},
		"tries_max":            {"5", "10", "looser attempt limits", ""},
		"send_max":             {"10", "20", "looser attempt limits", ""},
		"block_hours":          {"24", "1", "looser attempt limits", ""},
		"helpdesk_url":         {"https://help.contoso.test", "https://desk.contoso.test", "", ""},
		"phone_countries":      {"1", "1,44", "adds calling code +44", ""},
		"directory_methods":    {"off", "on", "offers the directory's own methods", ""},
		"custom_questions":     {"What was your first job title?", "", "", ""},
		"remind_every_days":    {"3", "7", "", ""},
		"manager_after":        {"0", "3", "", ""},
	}
	base := DefaultPolicy()
	base.EnabledFor = EnabledSelected
	seen := map[string]bool{}
	for _, s := range settings {
		seen[s.name] = true
		if s.weakens == nil {
			t.Errorf("%s declares no weakening", s.name)
			continue
		}
		c, ok := cases[s.name]
		if !ok {
			t.Errorf("%s has no case in this table", s.name)
			continue
		}
		pa, pb := base, base
		if err := s.apply(&pa, c.a); err != nil {
			t.Fatalf("%s %q: %v", s.name, c.a, err)
		}
		if c.b != "" || s.name == "custom_questions" {
			if err := s.apply(&pb, c.b); err != nil {
				t.Fatalf("%s %q: %v", s.name, c.b, err)
			}
		}
		for _, d := range []struct {
			from, to Policy
			want     string
			dir      string
		}{{pa, pb, c.aToB, c.a + " → " + c.b}, {pb, pa, c.bToA, c.b + " → " + c.a}} {
			got := strings.Join(Weakens(d.from, d.to), "; ")
			if got != d.want {
				t.Errorf("%s %s: weakens %q, want %q", s.name, d.dir, got, d.want)
			}
		}
	}
	for name := range cases {
		if !seen[name] {
			t.Errorf("the table names %s, which is no setting", name)
		}
	}
	// the banned-password terms are edited by their own command, and weaken when one goes
	pa, pb := base, base
	pa.BannedTerms, pb.BannedTerms = []string{"contoso", "granite"}, []string{"contoso"}
	if got := strings.Join(Weakens(pa, pb), "; "); got != "unbans granite" {
		t.Errorf("removing a banned term: %q", got)
	}
	if got := Weakens(pb, pa); len(got) != 0 {
		t.Errorf("adding a banned term: %q", got)
	}
}
