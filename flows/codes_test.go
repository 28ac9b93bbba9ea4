package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// "I didn't get the code" sends a new one (a send, not a failed try), the new code works, the
// other methods are offered, and resends stay within the send limit.
func TestResendSendsANewCode(t *testing.T) {
	h, _ := newAlice(t)
	ctx := context.Background()
	rs := h.Say("U1", aliceMail, "forgot my password")
	h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	first := storetest.CodeFrom(t, h.Mail.Last())
	for _, msg := range []string{"I didn't get the code", "send it again", "resend"} {
		rs = h.Say("U1", aliceMail, msg)
		if !hasMsg(rs, flows.MsgEmailSent) || !hasMsg(rs, flows.MsgOrAnother) {
			t.Fatalf("%q: %v", msg, storetest.IDs(rs))
		}
		if storetest.Choice(t, rs, "Authenticator") == "" {
			t.Fatal("no other method offered")
		}
		for _, r := range rs {
			for _, c := range r.Choices {
				if strings.Contains(c.Label, "Email") {
					t.Fatalf("%q offers the method being resent: %+v", msg, r.Choices)
				}
			}
		}
	}
	if n := len(h.Mail.All()); n != 4 {
		t.Fatalf("%d codes mailed, want 4", n)
	}
	en, _ := h.Store.Get(ctx, storetest.Alice.ID)
	if en.Fails.Count != 0 || en.Sent.Count != 4 {
		t.Fatalf("a resend was counted as a failure or not as a send: fails %d, sent %d", en.Fails.Count, en.Sent.Count)
	}
	latest := storetest.CodeFrom(t, h.Mail.Last())
	if latest != first {
		if rs = h.Say("U1", aliceMail, first); hasMsg(rs, flows.MsgProvenMore) {
			t.Fatal("the replaced code still works")
		}
	}
	if rs = h.Say("U1", aliceMail, latest); !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("the new code: %v", storetest.IDs(rs))
	}
	// resends are held to the send limit
	rs = h.Click("U1", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	for i := 0; i < 10; i++ {
		rs = h.Say("U1", aliceMail, "resend")
	}
	if !hasMsg(rs, flows.MsgTOTPNotSent) {
		t.Fatalf("resend of an authenticator code: %v", storetest.IDs(rs))
	}
	h2, _ := newAlice(t)
	rs = h2.Say("U2", aliceMail, "reset")
	h2.Click("U2", aliceMail, storetest.Choice(t, rs, "Email"))
	for i := 1; i < h2.Policy.Limits.SendMax; i++ {
		if rs = h2.Say("U2", aliceMail, "resend"); !hasMsg(rs, flows.MsgEmailSent) {
			t.Fatalf("resend %d: %v", i, storetest.IDs(rs))
		}
	}
	if rs = h2.Say("U2", aliceMail, "resend"); !hasMsg(rs, flows.MsgTooManyCodes) {
		t.Fatalf("resend past the limit: %v", storetest.IDs(rs))
	}
	if rs = h2.Say("U9", aliceMail, "resend"); !hasMsg(rs, flows.MsgNothingToResend) {
		t.Fatalf("resend without a request: %v", storetest.IDs(rs))
	}
}

// Wrong codes say how many tries are left once two or fewer remain; the block says until when,
// in the person's time zone, how to reach the helpdesk, and is emailed.
func TestWrongCodesWarnThenBlockWithTime(t *testing.T) {
	h, _ := newAlice(t)
	chat := storetest.Chat("U1")
	chat.TimeZone = "Europe/Berlin"
	say := func(text string) []flows.Reply {
		rs, err := h.Send(flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail}, Text: text,
			IdemKey: text + time.Now().String()})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	rs := say("reset")
	rs, _ = h.Send(flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail},
		Choice: storetest.Choice(t, rs, "Email"), IdemKey: "click"})
	if !hasMsg(rs, flows.MsgEmailSent) {
		t.Fatalf("pick: %v", storetest.IDs(rs))
	}
	mails := len(h.Mail.All())
	want := []string{"", "", "2 tries left", "1 try left"}
	for i, w := range want {
		rs = say("00000" + string(rune('0'+i)))
		if !hasMsg(rs, flows.MsgCodeWrong) {
			t.Fatalf("wrong code %d: %v", i+1, storetest.IDs(rs))
		}
		if w == "" && strings.Contains(rs[0].Text, "left") || w != "" && !strings.Contains(rs[0].Text, w) {
			t.Fatalf("wrong code %d: %q, want %q", i+1, rs[0].Text, w)
		}
	}
	rs = say("000009")
	if !hasMsg(rs, flows.MsgBlockedUntil) {
		t.Fatalf("fifth wrong code: %v", storetest.IDs(rs))
	}
	until := h.Clock.Now().Add(h.Policy.Limits.BlockFor).In(chat.Location())
	if !strings.Contains(rs[0].Text, until.Format("15:04")) || !strings.Contains(rs[0].Text, "CET") ||
		!strings.Contains(rs[0].Text, h.Policy.HelpdeskURL) {
		t.Fatalf("block reply: %q", rs[0].Text)
	}
	all := h.Mail.All()
	if len(all) != mails+1 || !strings.Contains(all[len(all)-1].Subject, "paused") || len(all[len(all)-1].To) != 2 ||
		!strings.Contains(all[len(all)-1].Body, until.Format("15:04")) {
		t.Fatalf("block email: %+v", all[mails:])
	}
	// still blocked later in the session: the time again, no second email
	rs = say("000010")
	if !hasMsg(rs, flows.MsgBlockedUntil) || len(h.Mail.All()) != mails+1 {
		t.Fatalf("after the block: %v, %d mails", storetest.IDs(rs), len(h.Mail.All()))
	}
	// no time zone known: UTC
	if got := flows.FormatWhen("en", until, storetest.Chat("x").Location()); !strings.Contains(got, "UTC") {
		t.Fatalf("without a time zone: %q", got)
	}
}

// A reused authenticator code gets its own reply, and it is still counted.
func TestReusedTOTPCodeSaysSo(t *testing.T) {
	h, secret := newAlice(t)
	code, _ := totp.Code(secret, h.Clock.Now())
	rs := h.Say("A", aliceMail, "reset")
	h.Click("A", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	if rs = h.Say("A", aliceMail, code); !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("first use: %v", storetest.IDs(rs))
	}
	rs = h.Say("B", aliceMail, "reset")
	h.Click("B", aliceMail, storetest.Choice(t, rs, "Authenticator"))
	if rs = h.Say("B", aliceMail, code); !hasMsg(rs, flows.MsgCodeUsed) || !strings.Contains(rs[0].Text, "next one") {
		t.Fatalf("reused: %v", storetest.IDs(rs))
	}
	if rs = h.Say("B", aliceMail, "999999"); !hasMsg(rs, flows.MsgCodeWrong) {
		t.Fatalf("wrong: %v", storetest.IDs(rs))
	}
	en, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
	if en.Fails.Count != 2 {
		t.Fatalf("fails %d, want 2 (the reuse counts)", en.Fails.Count)
	}
}
