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

// The reset page writes once: the link's consumption keeps the new password's keyed hash in the
// same atomic step (the page reads its link, then consumes it; nothing after). A password the
// directory refuses is not kept: the one kept before comes back, so the password the person
// really has is still recognised in chat and the refused one is not.
func TestResetKeepsTheNewPasswordWithTheLink(t *testing.T) {
	h, secret := newAlice(t)
	ctx := context.Background()
	const first, refused = "Quiet meadow River stone", "Amber canyon Willow brook"
	link := token(proveBoth(t, h, "U1", secret))
	h.Engine.Drain()
	h.Counter.Take()
	v, err := h.Engine.OpenLink(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.ResetPasswordOf(ctx, v, link, first, first); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	if _, cmds := h.Counter.Take(); len(cmds) < 2 || cmds[0] != "EVALSHA" || cmds[1] != "EVALSHA" || len(without(cmds, "EVALSHA")) != len(cmds)-2 {
		t.Errorf("the reset: %v, want the link read and its consumption, which keeps the new password", cmds)
	}

	h.Clock.Advance(time.Minute) // a fresh TOTP step
	link = token(proveBoth(t, h, "U1", secret))
	h.Dir.Refuse = map[string]bool{refused: true}
	var pe *flows.PasswordError
	if err := h.Engine.ResetPassword(ctx, link, refused, refused); !errors.As(err, &pe) {
		t.Fatalf("refused password: %v", err)
	}
	h.Engine.Drain()
	if rs := h.Say("U1", aliceMail, refused); hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("the refused password is recognised: %v", storetest.IDs(rs))
	}
	if rs := h.Say("U1", aliceMail, first); !hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("the password set before is not recognised: %v", storetest.IDs(rs))
	}
}

// A request that ends while the directory is asked (the browser went away) still puts the
// refused password's record back: the password set before stays the one recognised.
func TestPutBackOutlivesTheRequest(t *testing.T) {
	h, secret := newAlice(t)
	const first, lost = "Quiet meadow River stone", "Amber canyon Willow brook"
	link := token(proveBoth(t, h, "U1", secret))
	if err := h.Engine.ResetPassword(context.Background(), link, first, first); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()

	h.Clock.Advance(time.Minute) // a fresh TOTP step
	link = token(proveBoth(t, h, "U1", secret))
	ctx, cancel := context.WithCancel(context.Background())
	h.Dir.OnSetPassword = func(ctx context.Context) error { cancel(); return ctx.Err() }
	if err := h.Engine.ResetPassword(ctx, link, lost, lost); err == nil {
		t.Fatal("a directory call that failed reported success")
	}
	h.Dir.OnSetPassword = nil
	h.Engine.Drain()
	if rs := h.Say("U1", aliceMail, lost); hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("the password the directory never took is recognised: %v", storetest.IDs(rs))
	}
	if rs := h.Say("U1", aliceMail, first); !hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("the password set before is not recognised: %v", storetest.IDs(rs))
	}
}
