package flows_test

import (
	"context"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// TestIdentityCacheDropsExpiredPeople: the in-process identity cache keeps the people seen
// lately, not everyone ever seen, so the bot's memory follows the active people.
func TestIdentityCacheDropsExpiredPeople(t *testing.T) {
	h := storetest.New(t)
	h.Dir.Add(storetest.Alice)
	ctx := context.Background()
	say := func(user string) {
		t.Helper()
		in := flows.Inbound{Chat: storetest.Chat(user), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: storetest.Alice.Mail},
			Text: "help", IdemKey: "k-" + user + h.Clock.Now().String()}
		if _, err := h.Engine.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	say("U1")
	say("U2")
	if n := flows.CachedIdentities(h.Engine); n != 2 {
		t.Fatalf("cached %d identities, want 2", n)
	}
	h.Clock.Advance(flows.KnownIDTTL + flows.DefaultIdentityTTL)
	say("U3")
	if n := flows.CachedIdentities(h.Engine); n != 1 {
		t.Fatalf("past both times the cache holds %d identities, want only the one seen since", n)
	}
}
