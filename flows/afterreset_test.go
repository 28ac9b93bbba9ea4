package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// without are the commands of cmds other than drop, in order.
func without(cmds []string, drop string) []string {
	var out []string
	for _, c := range cmds {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

// The work after a reset begun in a chat that says its language (but no time zone) reads
// nothing: the registered address the email also goes to was read with the link's consumption,
// and the email speaks the chat's language, the pair its steps kept, without reading that pair
// back. It writes the chat notice's menu, before the notice is posted.
func TestWorkAfterAResetInChatReadsOnce(t *testing.T) {
	h, secret := newAlice(t)
	h.Deps.Locales = h.Store // as the bot wires it
	h.Rebuild()
	ctx := context.Background()
	// the harness's platform says the language ("en"), not the time zone
	link := token(proveBoth(t, h, "U1", secret))
	h.Engine.Drain()
	h.Counter.Take()
	if err := h.Engine.ResetPassword(ctx, link, "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	_, cmds := h.Counter.Take()
	if got := strings.Join(without(cmds, "EVALSHA"), " "); got != "SET" {
		t.Errorf("the work after the reset: %v, want the menu kept alone", cmds)
	}
	if got := h.Mail.Last(); got.Subject != "Your password was reset" || len(got.To) != 2 ||
		!strings.Contains(got.Body, flows.FormatWhen("en", h.Clock.Now(), time.UTC)) {
		t.Errorf("notice: %+v", got)
	}
	if n := len(h.Notes.Replies); n == 0 || h.Notes.Replies[n-1].MsgID != flows.MsgPasswordChanged {
		t.Errorf("the chat notice: %+v", h.Notes.Replies)
	}
}

// A change on the change page knows no chat language: the person's kept language and time zone
// are read once, with the enrollment, in one round trip, and serve the email and the chat notice.
func TestWorkAfterAChangeReadsOnce(t *testing.T) {
	h, _ := newAlice(t)
	h.Deps.Locales = h.Store
	h.Rebuild()
	ctx := context.Background()
	chat := storetest.Chat("U1")
	chat.Locale, chat.TimeZone = "de-DE", "Asia/Tokyo"
	// the step keeps the pair
	if _, err := h.Send(flows.Inbound{Chat: chat, Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail}, Text: "status", IdemKey: "i1"}); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	now := h.Clock.Now()
	ws := &flows.WebState{UserID: storetest.Alice.ID, ChatKey: chat.Key(), Purpose: flows.PurposeChange, SessionID: "s1",
		SignedInAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	h.Counter.Take()
	if err := h.Engine.ChangePassword(ctx, ws, "Correct-Horse-9", "Correct-Horse-9"); err != nil {
		t.Fatal(err)
	}
	h.Engine.Drain()
	_, cmds := h.Counter.Take()
	if got := strings.Join(without(cmds, "EVALSHA"), " "); got != "PIPELINE(HGETALL,HMGET) SET" {
		t.Errorf("the work after the change: %v, want the enrollment and the kept pair in one read, then the menu kept", cmds)
	}
	got := h.Mail.Last()
	if got.Subject != flows.Text("de", "mail.change.subject") || len(got.To) != 2 ||
		!strings.Contains(got.Body, flows.FormatWhen("de", now, mustZone(t, "Asia/Tokyo"))) {
		t.Errorf("notice: %+v", got)
	}
	if n := len(h.Notes.Replies); n == 0 || h.Notes.Replies[n-1].Text != flows.Text("de", flows.MsgPasswordChanged) {
		t.Errorf("the chat notice: %+v", h.Notes.Replies)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
