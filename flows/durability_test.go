package flows_test

import (
	"context"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// An enrollment acknowledged to the user survives redis-server being killed with SIGKILL right
// after, with appendfsync always; a conversation in flight resumes.
func TestEnrollmentSurvivesSIGKILL(t *testing.T) {
	h := storetest.New(t, "--appendonly", "yes", "--appendfsync", "always")
	h.Dir.Add(storetest.Alice)
	ctx := context.Background()
	rs := h.Say("U1", aliceMail, "register")
	ws, err := h.Engine.BeginSignIn(ctx, token(linkOf(t, rs)))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.CompleteSignIn(ctx, &ws, flows.SignIn{ObjectID: storetest.Alice.ID, AuthTime: h.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	show, err := h.Engine.BeginEnrol(ctx, &ws, flows.MethodTOTP, "")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.Code(show.Secret, h.Clock.Now())
	if _, err := h.Engine.ConfirmEnrol(ctx, &ws, code); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine.BeginEnrol(ctx, &ws, flows.MethodEmail, "alice.home@mail.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine.ConfirmEnrol(ctx, &ws, storetest.CodeFrom(t, h.Mail.Last())); err != nil {
		t.Fatal(err)
	}
	h.Redis.Kill() // acknowledged, then the server dies without a chance to save
	h.Redis.Restart()
	en, err := h.Store.Get(ctx, storetest.Alice.ID)
	if err != nil || !en.Has(flows.MethodTOTP) || !en.Has(flows.MethodEmail) {
		t.Fatalf("enrollment after SIGKILL: %+v %v", en, err)
	}

	// a conversation in flight when the server dies resumes where it was
	h.Clock.Advance(60e9)
	rs = h.Say("U1", aliceMail, "I'm locked out")
	h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	h.Redis.Kill()
	h.Redis.Restart()
	code, _ = totp.Code(show.Secret, h.Clock.Now())
	rs, err = h.Send(flows.Inbound{Chat: storetest.Chat("U1"), Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail}, Text: code, IdemKey: "after-crash"})
	if err != nil || !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("after the crash: %v %v", storetest.IDs(rs), err)
	}
}
