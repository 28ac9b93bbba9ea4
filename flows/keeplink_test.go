package flows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// A password the directory refuses leaves the link usable until it expires; each refusal
// counts on the person's limits, and at the limit self-service is blocked and the link is gone.
func TestDirectoryRefusalKeepsTheLinkAndCounts(t *testing.T) {
	h, secret := newAlice(t)
	link := token(proveBoth(t, h, "U1", secret))
	ctx := context.Background()
	h.Dir.Refuse = map[string]bool{"Granite-Orchid-Lantern-8": true}
	var pe *flows.PasswordError
	if err := h.Engine.ResetPassword(ctx, link, "Granite-Orchid-Lantern-8", "Granite-Orchid-Lantern-8"); !errors.As(err, &pe) {
		t.Fatalf("refused password: %v", err)
	}
	if _, err := h.Engine.OpenReset(ctx, link); err != nil {
		t.Fatalf("the link is gone after the directory's refusal: %v", err)
	}
	if err := h.Engine.ResetPassword(ctx, link, "Copper-Meadow-Kettle-5", "Copper-Meadow-Kettle-5"); err != nil {
		t.Fatalf("a good password on the same link: %v", err)
	}
	if h.Dir.Passwords[storetest.Alice.ID] != "Copper-Meadow-Kettle-5" {
		t.Fatal("password not set")
	}
	if err := h.Engine.ResetPassword(ctx, link, "Copper-Meadow-Kettle-6", "Copper-Meadow-Kettle-6"); !errors.Is(err, flows.ErrLinkGone) {
		t.Fatalf("a used link: %v", err)
	}

	// every refusal counts, across links: with the one above, the fifth failure of the day
	// blocks self-service and ends the link
	h.Clock.Advance(time.Minute)                // a fresh TOTP step
	link = token(proveBoth(t, h, "U1", secret)) // two proofs, no failures so far
	for i := 0; ; i++ {
		err := h.Engine.ResetPassword(ctx, link, "Granite-Orchid-Lantern-8", "Granite-Orchid-Lantern-8")
		if errors.Is(err, flows.ErrBlocked) {
			if 1+i+1 != h.Policy.Limits.FailMax {
				t.Fatalf("blocked at refusal %d of the day, the limit is %d", 1+i+1, h.Policy.Limits.FailMax)
			}
			break
		}
		if !errors.As(err, &pe) || i > 10 {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	if _, err := h.Engine.OpenReset(ctx, link); err == nil {
		t.Fatal("the link outlived the block")
	}
}
