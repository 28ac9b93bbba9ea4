package flows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// The words the adapters route to Engine.Admin are the commands Admin handles and the help
// lists: a listed word is answered by its command (not by the help), a word that is not listed
// gets the help, and the help has a line for every word.
func TestAdminWordsHandledAndListed(t *testing.T) {
	h := storetest.New(t)
	h.Dir.Add(flows.Account{ID: "bob", Mail: "bob@contoso.test", Enabled: true, Groups: []string{"admins"}})
	h.Opts.AdminGroups = []string{"admins"}
	h.Rebuild()
	admin := func(text string) string {
		t.Helper()
		rs, err := h.Engine.Admin(context.Background(), flows.Inbound{Chat: storetest.Chat("bob"),
			Claim: flows.Claim{Kind: flows.ClaimEmail, Value: "bob@contoso.test"}}, text)
		if err != nil || len(rs) != 1 {
			t.Fatalf("%q: %v %v", text, rs, err)
		}
		return rs[0].Text
	}
	help := admin("help")
	if !strings.HasPrefix(help, "Bot admin commands:") {
		t.Fatalf("help %q", help)
	}
	words := flows.AdminWords()
	if len(words) < 6 {
		t.Fatalf("admin words %v", words)
	}
	for _, w := range words {
		if !strings.Contains(help, "\n• "+w) {
			t.Errorf("the help has no line for %q:\n%s", w, help)
		}
		if got := admin(w); got == help {
			t.Errorf("%q is listed but not handled: it got the help", w)
		}
		if !flows.IsAdminWord(strings.ToUpper(w)) {
			t.Errorf("IsAdminWord(%q) is false", strings.ToUpper(w))
		}
	}
	// the people's own words, and nonsense, are not bot-admin commands
	for _, w := range []string{"status", "reset", "register", "unlock", "cancel", "frobnicate"} {
		if flows.IsAdminWord(w) {
			t.Errorf("%q is routed to the admin commands", w)
		}
		if got := admin(w); got != help {
			t.Errorf("%q is handled but not listed: %q", w, got)
		}
	}
	// a listed command's unknown second word gets the help too
	if got := admin("policy frobnicate"); got != help {
		t.Errorf("policy frobnicate: %q", got)
	}
}
