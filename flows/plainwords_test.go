package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// status says in a sentence where the person is, with no internal state names; help says what
// to do at this step first.
func TestStatusAndHelpInPlainWords(t *testing.T) {
	h, _ := newAlice(t)
	internal := []string{"choose_method", "await_code", "choose method", "await code", "reset_link", "(s)", "In progress:"}
	plain := func(what, text string, want ...string) {
		t.Helper()
		for _, bad := range internal {
			if strings.Contains(text, bad) {
				t.Errorf("%s shows %q: %q", what, bad, text)
			}
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q: %q", what, w, text)
			}
		}
	}
	rs := h.Say("U1", aliceMail, "reset")
	plain("the menu", rs[len(rs)-1].Text, "2 proofs")
	rs = h.Say("U1", aliceMail, "status")
	plain("status", rs[0].Text, "You're set up: 2 ways to prove it's you are registered (2 needed): Authenticator app code, Email code to", "You asked to reset your password",
		"0 of the 2 proofs", "choose a method")
	h.Say("U1", aliceMail, "email")
	rs = h.Say("U1", aliceMail, "status")
	plain("status", rs[0].Text, "waiting for the code from your email", "resend")
	rs = h.Say("U1", aliceMail, "help")
	if !hasMsg(rs, flows.MsgHelp) {
		t.Fatalf("help: %v", storetest.IDs(rs))
	}
	plain("help", rs[0].Text, "waiting for the code from your email", "\"register\"")
	if !strings.HasPrefix(rs[0].Text, "You asked to reset your password") {
		t.Errorf("help does not start with this step: %q", rs[0].Text)
	}
	h.Say("U1", aliceMail, "cancel")
	rs = h.Say("U1", aliceMail, "status")
	plain("idle status", rs[0].Text, "Nothing is in progress")
	// fewer ways than the policy needs: N of M, and what to do about it
	if err := h.Store.Remove(context.Background(), storetest.Alice.ID, flows.MethodTOTP); err != nil {
		t.Fatal(err)
	}
	rs = h.Say("U1", aliceMail, "status")
	plain("status when short", rs[0].Text, "You have registered 1 of the 2 ways to prove it's you that are needed (Email code to", `Type "register"`)
}

type unlockDir struct{ *storetest.Directory }

func (d unlockDir) Capabilities() flows.Capabilities {
	c := d.Directory.Capabilities()
	c.Unlocker = d
	return c
}

func (unlockDir) LockedOut(context.Context, string) (bool, time.Time, error) {
	return true, time.Time{}, nil
}
func (unlockDir) Unlock(context.Context, string) error { return nil }

// An unlock is introduced as an unlock where the directory can unlock; where a new password is
// what unlocks, the bot says so without product names.
func TestUnlockIntroducedAsUnlock(t *testing.T) {
	h, _ := newAlice(t)
	rs := h.Say("U1", aliceMail, "I'm locked out")
	if !hasMsg(rs, flows.MsgUnlockIsReset) || strings.Contains(storetest.Render(rs), "Entra") ||
		!strings.Contains(storetest.Render(rs), "To reset your password") {
		t.Fatalf("cloud account: %s", storetest.Render(rs))
	}
	synced := storetest.Alice
	synced.ID, synced.Mail, synced.UPN, synced.Synced = "b0b-0002", "bob@contoso.test", "bob@contoso.test", true
	h.Dir.Add(synced)
	h.Enrol(synced.ID)
	h.Deps.Directory = unlockDir{h.Dir}
	h.Opts.ADConfigured = true
	h.Rebuild()
	rs = h.Say("U2", synced.Mail, "unlock my account")
	if !hasMsg(rs, flows.MsgChooseMethod) || !strings.HasPrefix(rs[len(rs)-1].Text, "To unlock your account") ||
		hasMsg(rs, flows.MsgUnlockIsReset) {
		t.Fatalf("unlockable account: %s", storetest.Render(rs))
	}
	if rs = h.Say("U2", synced.Mail, "status"); !strings.Contains(rs[0].Text, "You asked to unlock your account") {
		t.Fatalf("status: %q", rs[0].Text)
	}
}

// Where no options are shown (a one-time link is out), a message the bot does not understand
// is never told to "pick one of the options above": it gets the closest suggestion and what
// to do at this step.
func TestNoOptionsToPickAtALink(t *testing.T) {
	h, secret := newAlice(t)
	proveBoth(t, h, "U1", secret)
	rs := h.Say("U1", aliceMail, "ok what else")
	if hasMsg(rs, flows.MsgUseButtons) || len(rs) != 1 || !strings.Contains(rs[0].Text, "Open the one-time link I sent") {
		t.Fatalf("at the reset link: %v %q", storetest.IDs(rs), rs[0].Text)
	}
	if rs = h.Say("U2", aliceMail, "register"); !hasMsg(rs, flows.MsgRegisterLink) {
		t.Fatalf("register: %v", storetest.IDs(rs))
	}
	if rs = h.Say("U2", aliceMail, "blue"); hasMsg(rs, flows.MsgUseButtons) || !strings.Contains(rs[0].Text, "Open it to carry on") {
		t.Fatalf("at the registration link: %v %q", storetest.IDs(rs), rs[0].Text)
	}
}
