package flows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// The intent parser takes any text without a panic, gives the same answer twice, and never
// reads a code out of long or letter-mixed text.
func FuzzParseIntent(f *testing.F) {
	for _, s := range []string{"I'm locked out", "reset my password", "123 456", "cancel", "help", "status", "register",
		"unlock", "forgot my password", "", "ünlock", "123456789012", "\x00\xff", strings.Repeat("a ", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i := flows.ParseIntent(s)
		if i != flows.ParseIntent(s) {
			t.Fatal("not deterministic")
		}
		if i == flows.IntentCode {
			if digits := flows.CodeDigits(s); len(digits) < 6 || len(digits) > 10 {
				t.Fatalf("%q read as a code of %d digits", s, len(digits))
			}
		}
		if (!utf8.ValidString(s) || len(s) > flows.MaxTextLen) && i != flows.IntentUnknown {
			t.Fatalf("invalid or over-long text understood as %v", i)
		}
	})
}

// The policy validator takes any JSON document without a panic; a policy it accepts never
// lets security questions alone complete a reset, and stays valid through a round trip.
func FuzzPolicyValidate(f *testing.F) {
	def, _ := json.Marshal(flows.DefaultPolicy())
	f.Add(def)
	f.Add([]byte(`{"enabled_for":"all","methods":["questions"],"required":1}`))
	f.Add([]byte(`{"required":-1,"reconfirm_days":99999}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p := flows.DefaultPolicy()
		if json.Unmarshal(doc, &p) != nil {
			return
		}
		if p.Validate() != nil {
			return
		}
		if p.Required < 1 || p.Required > 2 {
			t.Fatalf("valid with %d required methods", p.Required)
		}
		if p.Required == 1 && len(p.Methods) == 1 && p.Methods[0] == flows.MethodQuestions {
			t.Fatal("valid with security questions alone")
		}
		b, _ := json.Marshal(p)
		var q flows.Policy
		if json.Unmarshal(b, &q) != nil || q.Validate() != nil {
			t.Fatalf("a valid policy did not survive a round trip: %s", b)
		}
		_ = flows.Weakens(flows.DefaultPolicy(), p)
	})
}

// The /sspr command parser takes any text from a bot admin without a panic or an error, and
// whatever it is told, the stored policy stays valid and its version moves only by one.
func FuzzAdminCommand(f *testing.F) {
	for _, s := range []string{"policy show", "policy set required 1", "policy set methods totp,email", "policy set reconfirm_days 10",
		"policy set groups Finance", "policy set helpdesk_url https://help.example", "policy banned add Contoso", "unblock alice@contoso.test",
		"audit alice@contoso.test", "report", "report csv", "remind", "policy approve 123", "policy set", "", "policy set x y z"} {
		f.Add(s)
	}
	h := storetest.New(f)
	admin := flows.Account{ID: "admin-0001", Mail: "admin@contoso.test", UPN: "admin@contoso.test", DisplayName: "Admin",
		Enabled: true, Groups: []string{"bot-admins", storetest.Group}}
	h.Dir.Add(admin)
	h.Dir.Add(storetest.Alice)
	h.Opts.AdminGroups = []string{"bot-admins"}
	h.Rebuild()
	ctx := context.Background()
	in := flows.Inbound{Chat: storetest.Chat("UADMIN"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: admin.Mail}}
	f.Fuzz(func(t *testing.T, cmd string) {
		_, v0, err := h.Store.GetPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Engine.Admin(ctx, in, cmd); err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		p, v1, err := h.Store.GetPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%q left an invalid policy: %v", cmd, err)
		}
		if v1 != v0 && v1 != v0+1 {
			t.Fatalf("%q moved the version from %d to %d", cmd, v0, v1)
		}
	})
}
