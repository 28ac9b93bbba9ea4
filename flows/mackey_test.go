package flows_test

import (
	"context"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// A code sent and a link issued under MAC key A keep working after the engine restarts with
// MAC_KEY=B and MAC_KEYS_OLD=A, and stop working with MAC_KEY=B alone; what is made after the
// switch is keyed with B only.
func TestMACKeyRotation(t *testing.T) {
	keyA, keyB := storetest.NewKey(), storetest.NewKey()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		old  [][]byte
		kept bool
	}{{"old key listed", [][]byte{keyA}, true}, {"old key dropped", nil, false}} {
		t.Run(tc.name+"/code", func(t *testing.T) {
			h, secret := newAlice(t)
			h.Restart(keyA)
			rs := h.Say("U1", aliceMail, "reset")
			rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
			code, _ := totp.Code(secret, h.Clock.Now())
			rs = h.Say("U1", aliceMail, code)
			if rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email")); !hasMsg(rs, flows.MsgEmailSent) {
				t.Fatalf("email: %v", storetest.IDs(rs))
			}
			h.Restart(keyB, tc.old...)
			rs = h.Say("U1", aliceMail, storetest.CodeFrom(t, h.Mail.Last()))
			if hasMsg(rs, flows.MsgResetLink) != tc.kept {
				t.Fatalf("kept %v: code sent under the old key: %v", tc.kept, storetest.IDs(rs))
			}
			if !tc.kept {
				en, _ := h.Store.Get(ctx, storetest.Alice.ID)
				if en.Fails.Count != 1 {
					t.Fatalf("a code under a dropped key counts as one wrong try, counted %d", en.Fails.Count)
				}
				return
			}
			// the link issued after the switch is keyed with B alone
			link := token(linkOf(t, rs))
			h.Restart(keyB)
			if _, err := h.Engine.OpenReset(ctx, link); err != nil {
				t.Fatalf("a link made under the new key, old key dropped: %v", err)
			}
		})
		t.Run(tc.name+"/link", func(t *testing.T) {
			h, secret := newAlice(t)
			h.Restart(keyA)
			link := token(proveBoth(t, h, "U1", secret))
			h.Restart(keyB, tc.old...)
			_, err := h.Engine.OpenReset(ctx, link)
			if (err == nil) != tc.kept {
				t.Fatalf("kept %v: open: %v", tc.kept, err)
			}
			err = h.Engine.ResetPassword(ctx, link, "Correct-Horse-9", "Correct-Horse-9")
			if !tc.kept {
				if err != flows.ErrLinkGone || h.Dir.Passwords[storetest.Alice.ID] != "" {
					t.Fatalf("a link under a dropped key reset: %v %v", err, h.Dir.Passwords)
				}
				return
			}
			if err != nil {
				t.Fatalf("reset with a link under the old key: %v", err)
			}
			h.Engine.Drain()
			if h.Dir.Passwords[storetest.Alice.ID] != "Correct-Horse-9" {
				t.Fatalf("directory: %v", h.Dir.Passwords)
			}
			if err := h.Engine.ResetPassword(ctx, link, "Other-Zebra-Canyon-9", "Other-Zebra-Canyon-9"); err != flows.ErrLinkGone {
				t.Fatalf("second use of a link under the old key: %v", err)
			}
		})
	}
}
