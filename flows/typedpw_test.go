package flows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// A password typed in chat is refused politely, the conversation carries on (the verified link
// still works), and the password is in no log line and no Redis key.
func TestPasswordTypedInChat(t *testing.T) {
	h, secret := newAlice(t)
	ctx := context.Background()
	const pw = "Sunflower#Quartz77"
	rs := h.Say("U2", aliceMail, "reset")
	if rs = h.Say("U2", aliceMail, pw); !hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("bare password with a menu out: %v", storetest.IDs(rs))
	}
	if !strings.Contains(rs[0].Text, "Please don't type passwords here; if that was your password, change it") {
		t.Fatalf("wording: %q", rs[0].Text)
	}
	link := proveBoth(t, h, "U1", secret)
	for _, msg := range []string{"my new password is " + pw, pw} {
		rs = h.Say("U1", aliceMail, msg)
		if !hasMsg(rs, flows.MsgPasswordTyped) || hasMsg(rs, flows.MsgChooseMethod) {
			t.Fatalf("%q: %v", msg, storetest.IDs(rs))
		}
	}
	if err := h.Engine.ResetPassword(ctx, token(link), "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatalf("the verified link died: %v", err)
	}
	h.Audit.Close()
	if strings.Contains(h.LogText(), "Quartz") {
		t.Fatal("the password reached the log")
	}
	keys, _ := h.RDB.Keys(ctx, "*").Result()
	for _, k := range keys {
		v, _ := h.RDB.Dump(ctx, k).Result()
		if strings.Contains(v, "Quartz") || strings.Contains(k, "Quartz") {
			t.Fatalf("%s stores the password", k)
		}
	}
}
