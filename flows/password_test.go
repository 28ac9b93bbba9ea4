package flows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn/frequency"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

func builtIn(t *testing.T) *flows.BannedList {
	b := flows.NewBannedList(frequency.FrequencyLists["passwords"])
	if b.Len() < 10_000 {
		t.Fatalf("built-in list has %d terms", b.Len())
	}
	return b
}

func TestBannedPasswordScoring(t *testing.T) {
	lists := []*flows.BannedList{builtIn(t), flows.NewBannedList([]string{"contoso", "fabrikam"})}
	personal := []string{"Alice", "Cloud", "alice.cloud"}
	cases := []struct {
		pw   string
		want string // "" accepted
	}{
		{"Password123!", "too easy"},               // banned word + 4 chars
		{"P@ssw0rd2024", "too easy"},               // substitutions normalise to password
		{"Passwerd123!", "too easy"},               // edit distance 1
		{"Contoso!!", "too easy"},                  // custom term plus two symbols
		{"Contoso-Blizzard-19", ""},                // a banned term is fine inside enough else
		{"AliceCloud123", "your own name"},         // the user's names
		{"Summer2026!", "too easy"},                // common word and year
		{"Sunny-Meadow-42", ""},                    // words that are not banned outright
		{"Correct horse battery staple", ""},       // a passphrase
		{"Tr0ub4dor&3x", ""},                       // enough points
		{"Qwerty!!", "too easy"},                   // qwerty plus three symbols
		{"Caf\u00e9-Latte-99", "accented letters"}, // not in Entra's character set
	}
	for _, c := range cases {
		err := flows.CheckNewPassword(c.pw, c.pw, lists, personal)
		if c.want == "" && err != nil {
			t.Errorf("%q refused: %v", c.pw, err)
		}
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v, want %q", c.pw, err, c.want)
		}
	}
}

func TestScoreCountsBannedPartsAsOnePoint(t *testing.T) {
	b := flows.NewBannedList([]string{"password"})
	if n, found := flows.Score("password", []*flows.BannedList{b}, nil); n != 1 || len(found) != 1 {
		t.Fatalf("%d %v", n, found)
	}
	if n, _ := flows.Score("P@ssw0rd1234", []*flows.BannedList{b}, nil); n != 5 {
		t.Fatalf("password1234 scored %d, want 5 (1 + 4)", n)
	}
}

func TestResetRefusesBannedAndPersonalPasswordsBeforeUsingTheLink(t *testing.T) {
	h, secret := newAlice(t)
	link := token(proveBoth(t, h, "U1", secret))
	ctx := context.Background()
	for pw, want := range map[string]string{
		"P@ssword99":      "too easy",
		"Alice!Alice":     "your own name",
		"Ümlaut-Straße-9": "no accented letters",
	} {
		err := h.Engine.ResetPassword(ctx, link, pw, pw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: %v", pw, err)
		}
	}
	// the refusals left the link usable
	if err := h.Engine.ResetPassword(ctx, link, "Granite-Orchid-Lantern-8", "Granite-Orchid-Lantern-8"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain() // revocation and notices run after the answer
	// the organisation's own terms, from the admin command
	h.Dir.Add(flows.Account{ID: "adm", Mail: "adm@contoso.test", Enabled: true, Groups: []string{"admins"}})
	h.Opts.AdminGroups = []string{"admins"}
	h.Rebuild()
	rs, _ := h.Engine.Admin(ctx, flows.Inbound{Chat: storetest.Chat("adm"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: "adm@contoso.test"}}, "policy banned add granite")
	if !strings.Contains(rs[0].Text, "1 custom banned terms") {
		t.Fatalf("banned add: %q", rs[0].Text)
	}
	if err := flows.CheckNewPassword("Granite!!", "Granite!!", []*flows.BannedList{flows.NewBannedList([]string{"granite"})}, nil); err == nil {
		t.Fatal("custom term not applied")
	}
	rs, _ = h.Engine.Admin(ctx, flows.Inbound{Chat: storetest.Chat("adm"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: "adm@contoso.test"}}, "policy banned list")
	if !strings.Contains(rs[0].Text, "granite") {
		t.Fatalf("banned list: %q", rs[0].Text)
	}
}
