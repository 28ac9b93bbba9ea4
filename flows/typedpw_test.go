package flows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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

// A password that has no password's shape (a passphrase of plain words) is still refused when
// it is the one a page set minutes ago, alone or in a sentence, for that person only and only
// for TypedPasswordLifetime; the conversation carries on. Only a keyed hash of it reaches
// Redis; it is in no log line, no audit record and no Redis value in clear.
func TestPasswordJustSetOnAPageTypedInChat(t *testing.T) {
	h, secret := newAlice(t)
	bob := flows.Account{ID: "b0b-0002", UPN: "bob@contoso.test", Mail: "bob@contoso.test", DisplayName: "Bob", Enabled: true,
		Groups: []string{storetest.Group}}
	h.Dir.Add(bob)
	ctx := context.Background()
	const pw = "Quiet meadow River stone"
	for _, msg := range []string{pw, "I set it to 'Quiet meadow River stone'."} {
		if flows.LooksLikePassword("en", msg) {
			t.Fatalf("%q has a password's shape: this test needs one that has not", msg)
		}
	}
	link := proveBoth(t, h, "U1", secret)
	if err := h.Engine.ResetPassword(ctx, token(link), pw, pw); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	for _, msg := range []string{pw, "I set it to 'Quiet meadow River stone'.", "  " + pw + "  "} {
		rs := h.Say("U1", aliceMail, msg)
		if !hasMsg(rs, flows.MsgPasswordTyped) || len(rs) != 1 {
			t.Fatalf("%q: %v", msg, storetest.IDs(rs))
		}
		if !strings.HasPrefix(rs[0].Text, "Please don't type passwords here; if that was your password, change it") {
			t.Fatalf("wording: %q", rs[0].Text)
		}
	}
	// the conversation carries on
	if rs := h.Say("U1", aliceMail, "reset my password"); !hasMsg(rs, flows.MsgChooseMethod) {
		t.Fatalf("after the refusal: %v", storetest.IDs(rs))
	}
	if rs := h.Say("U1", aliceMail, pw); !hasMsg(rs, flows.MsgPasswordTyped) || hasMsg(rs, flows.MsgExpired) {
		t.Fatalf("in a conversation: %v", storetest.IDs(rs))
	}
	if rs := h.Say("U1", aliceMail, "1"); !hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf("the menu after the refusal: %v", storetest.IDs(rs))
	}
	// someone else typing the same words is not refused: the hash is Alice's
	if rs := h.Say("B1", bob.Mail, pw); hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("Bob: %v", storetest.IDs(rs))
	}
	// what Redis holds is a keyed hash, gone from use after TypedPasswordLifetime
	rec, err := h.RDB.Get(ctx, "{u:"+storetest.Alice.ID+"}:newpw").Result()
	if err != nil || strings.Contains(rec, "meadow") || len(rec) < 64 {
		t.Fatalf("kept: %q %v", rec, err)
	}
	h.Clock.Advance(flows.TypedPasswordLifetime)
	if rs := h.Say("U1", aliceMail, pw); hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("after %s: %v", flows.TypedPasswordLifetime, storetest.IDs(rs))
	}
	h.Engine.Drain()
	h.Audit.Close()
	if strings.Contains(strings.ToLower(h.LogText()), "meadow") {
		t.Fatal("the password reached the log")
	}
	keys, _ := h.RDB.Keys(ctx, "*").Result()
	audited := false
	for _, k := range keys {
		// each value read as its type (DUMP output may be compressed)
		var v string
		switch typ, _ := h.RDB.Type(ctx, k).Result(); typ {
		case "string":
			v, _ = h.RDB.Get(ctx, k).Result()
		case "hash":
			v = fmt.Sprint(h.RDB.HGetAll(ctx, k).Val())
		case "list":
			v = fmt.Sprint(h.RDB.LRange(ctx, k, 0, -1).Val())
		case "set":
			v = fmt.Sprint(h.RDB.SMembers(ctx, k).Val())
		case "zset":
			v = fmt.Sprint(h.RDB.ZRange(ctx, k, 0, -1).Val())
		case "stream":
			es, _ := h.RDB.XRange(ctx, k, "-", "+").Result()
			v = fmt.Sprint(es)
			for _, m := range es {
				audited = audited || m.Values["action"] == "password_typed" && m.Values["reason"] == "page_password"
			}
		default:
			t.Fatalf("%s: a type this test does not read: %s", k, typ)
		}
		if strings.Contains(strings.ToLower(v+k), "meadow") {
			t.Fatalf("%s stores the password", k)
		}
	}
	if !audited {
		t.Fatal("the refusal is not in the audit stream")
	}
}

// A password changed on the change page is recognised in chat too, and the chat notice after
// the change speaks the person's language, not always English.
func TestPasswordChangedOnThePageTypedInChat(t *testing.T) {
	h, _ := newAlice(t)
	now := h.Clock.Now()
	chat := storetest.Chat("U1")
	ws := &flows.WebState{UserID: storetest.Alice.ID, ChatKey: chat.Key(), Purpose: flows.PurposeChange, SessionID: "s1",
		SignedInAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	const pw = "Quiet meadow River stone"
	if err := h.Engine.ChangePassword(flows.WithLang(context.Background(), "de"), ws, pw, pw); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	if n := len(h.Notes.Replies); n == 0 || h.Notes.Replies[n-1].Text != flows.Text("de", flows.MsgPasswordChanged) {
		t.Fatalf("the chat notice: %+v", h.Notes.Replies)
	}
	if rs := h.Say("U1", aliceMail, pw); !hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("typed after a change: %v", storetest.IDs(rs))
	}
}

// Whoever holds the person's chat cannot use the refusal as an oracle for the new password:
// the comparisons with its keyed hash are counted (in Redis, across replicas) before they are
// made, and bounded over its whole lifetime. A message trying many guesses at once spends the
// bound and is not compared, even with the right one among them; after that, the password
// alone is not recognised by its hash either (the shape rule still applies).
func TestPasswordJustSetIsNoOracle(t *testing.T) {
	h, secret := newAlice(t)
	ctx := context.Background()
	const pw = "Quiet meadow River stone"
	link := proveBoth(t, h, "U1", secret)
	if err := h.Engine.ResetPassword(ctx, token(link), pw, pw); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	var guesses []string
	for i := range 40 {
		guesses = append(guesses, fmt.Sprintf("guessword%02d", i))
	}
	guesses = append(guesses, pw)
	many := strings.Join(guesses, " ")
	if flows.LooksLikePassword("en", many) {
		t.Fatal("the guesses have a password's shape: this test needs ones that have not")
	}
	if rs := h.Say("U1", aliceMail, many); hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("a message of %d guesses was compared: %v", len(guesses), storetest.IDs(rs))
	}
	if rs := h.Say("U1", aliceMail, pw); hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("compared after the bound was spent: %v", storetest.IDs(rs))
	}
	// a new password set on a page has its own count
	h.Clock.Advance(time.Minute) // a new TOTP step for the next verification
	if err := h.Engine.ResetPassword(ctx, token(proveBoth(t, h, "U1", secret)), "Silver lake Autumn field", "Silver lake Autumn field"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	if rs := h.Say("U1", aliceMail, "I set it to 'Silver lake Autumn field'."); !hasMsg(rs, flows.MsgPasswordTyped) {
		t.Fatalf("the next password: %v", storetest.IDs(rs))
	}
}
