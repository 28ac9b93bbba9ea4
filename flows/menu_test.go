package flows_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

// A method menu takes the number shown, the method's name and common synonyms, in every
// adapter (the engine reads them), and a method keeps its number all conversation.
func TestMenusTakeNumbersAndNames(t *testing.T) {
	h, secret := newAlice(t)
	rs := h.Say("U1", aliceMail, "reset")
	menu := rs[len(rs)-1].Choices
	if len(menu) != 2 || menu[0].Key != "1" || menu[1].Key != "2" || menu[1].Title() != "2. "+menu[1].Label {
		t.Fatalf("menu: %+v", menu)
	}
	if rs = h.Say("U1", aliceMail, "authenticator"); !hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf("by name: %v", storetest.IDs(rs))
	}
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = h.Say("U1", aliceMail, code)
	if menu = rs[len(rs)-1].Choices; len(menu) != 1 || menu[0].Key != "2" {
		t.Fatalf("the email lost its number: %+v", menu)
	}
	if rs = h.Say("U1", aliceMail, "1"); !hasMsg(rs, flows.MsgChooseMethodAgain) {
		t.Fatalf("a proven method: %v", storetest.IDs(rs))
	}
	if rs = h.Say("U1", aliceMail, "2"); !hasMsg(rs, flows.MsgEmailSent) {
		t.Fatalf("by number: %v", storetest.IDs(rs))
	}
	// the same method again while its code is out: a new code, never a stale button
	if rs = h.Say("U1", aliceMail, "email"); !hasMsg(rs, flows.MsgEmailSent) || len(h.Mail.All()) != 2 {
		t.Fatalf("the method again: %v", storetest.IDs(rs))
	}
	if rs = h.Say("U1", aliceMail, storetest.CodeFrom(t, h.Mail.Last())); !hasMsg(rs, flows.MsgResetLink) {
		t.Fatalf("code: %v", storetest.IDs(rs))
	}
	// a number out of range is not a pick
	rs = h.Say("U2", aliceMail, "reset")
	if rs = h.Say("U2", aliceMail, "7"); hasMsg(rs, flows.MsgEmailSent) || hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf("7: %v", storetest.IDs(rs))
	}
	if rs = h.Say("U2", aliceMail, "by email please"); !hasMsg(rs, flows.MsgEmailSent) {
		t.Fatalf("by email please: %v", storetest.IDs(rs))
	}
}

func TestMethodSynonyms(t *testing.T) {
	for in, want := range map[string]flows.MethodKind{
		"email": flows.MethodEmail, "E-mail": flows.MethodEmail, "text": flows.MethodSMS, "SMS": flows.MethodSMS,
		"text message": flows.MethodSMS, "app": flows.MethodTOTP, "authenticator": flows.MethodTOTP,
		"the authenticator app": flows.MethodTOTP, "call": flows.MethodVoice, "call me": flows.MethodVoice,
		"questions": flows.MethodQuestions, "security questions": flows.MethodQuestions,
	} {
		if got, ok := flows.MethodNamed("en", in); !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "email or text", "I'm locked out of my email and my account"} {
		if got, ok := flows.MethodNamed("en", in); ok {
			t.Errorf("%q read as %q", in, got)
		}
	}
}

// locks is a directory's lockouts for the lockout watch.
type locks []flows.Account

func (l *locks) LockedOutSince(context.Context, time.Time) ([]flows.Account, error) { return *l, nil }

// The latest menu is the one a typed number picks from, whoever posted it: a notice's menu
// (kept in Redis with the conversation, for MenuLifetime) until a reply shows a newer one, and
// a notice arriving in the middle of a conversation takes over from the method menu.
func TestTheLatestMenuWinsWhoeverPostedIt(t *testing.T) {
	h, _ := newAlice(t)
	ctx := context.Background()
	chat := storetest.Chat("U1")
	if err := h.Store.Pin(ctx, chat.Key(), storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	src := &locks{}
	w := flows.NewLockoutWatch(h.Engine, src, h.Store, h.Store, "r1")
	lock := func() {
		t.Helper()
		h.Clock.Advance(time.Minute)
		a := storetest.Alice
		a.Locked, a.LockedAt = true, h.Clock.Now()
		*src = locks{a}
		if n, err := w.Poll(ctx); err != nil || n != 1 {
			t.Fatalf("alert: %d %v", n, err)
		}
	}
	lock()
	key := "{u:" + storetest.Alice.ID + "}:menu:" + chat.Key()
	if ttl, err := h.RDB.TTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > flows.MenuLifetime {
		t.Fatalf("the alert's menu is not kept for typing: %v %v", ttl, err)
	}
	// a reply with a newer menu: "1" is now the authenticator, not "Unlock it now"
	if rs := h.Say("U1", aliceMail, "reset my password"); !hasMsg(rs, flows.MsgChooseMethod) {
		t.Fatalf("reset: %v", storetest.IDs(rs))
	}
	if n, _ := h.RDB.Exists(ctx, key).Result(); n != 0 {
		t.Fatal("the alert's menu outlived the newer one")
	}
	if rs := h.Say("U1", aliceMail, "1"); !hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf(`"1" after the method menu: %v`, storetest.IDs(rs))
	}
	// an alert in the middle of the conversation: "1" (one round trip to read, one to write)
	// is its "Unlock it now", which starts the unlock over
	lock()
	h.Counter.Take()
	if rs := h.Say("U1", aliceMail, "1."); !hasMsg(rs, flows.MsgChooseMethod) || hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf(`"1" after the alert: %v`, storetest.IDs(rs))
	}
	if n, cmds := h.Counter.Take(); n != 2 {
		t.Fatalf("a typed pick cost %d round trips: %v", n, cmds)
	}
}

// The helpdesk's number-matching prompt is a notice's menu too: the person may type the number
// the agent read out (its label) instead of pressing it.
func TestHelpdeskNumberTyped(t *testing.T) {
	h, _, _ := helpdesk(t)
	n, _ := askAlice(t, h)
	if rs := h.Say("U1", aliceMail, n); !hasMsg(rs, flows.MsgHelpdeskMatched) {
		t.Fatalf("typed %s: %v", n, storetest.IDs(rs))
	}
	if got := lastTo(t, h, "B1"); got.MsgID != flows.MsgHelpdeskVerified {
		t.Fatalf("agent told: %+v", got)
	}
}

// A method button of an earlier menu of the same conversation still works (as its typed name
// does): another method is picked, a proven one brings the menu again, and the method whose
// code is on its way is not sent twice (a double click) but explained, "resend" included. A
// button of a conversation that ended stays refused.
func TestEarlierMethodButtonsStayLive(t *testing.T) {
	h, secret := newAlice(t)
	first := h.Say("U1", aliceMail, "reset")
	email, app := storetest.Choice(t, first, "Email"), storetest.Choice(t, first, "Authenticator")
	if rs := h.Click("U1", aliceMail, email); !hasMsg(rs, flows.MsgEmailSent) {
		t.Fatalf("email: %v", storetest.IDs(rs))
	}
	mails := len(h.Mail.All())
	rs := h.Click("U1", aliceMail, email)
	if len(rs) != 1 || !strings.Contains(rs[0].Text, `say "resend" for a new one`) || len(h.Mail.All()) != mails {
		t.Fatalf("email again from the first menu: %v %q, %d mails", storetest.IDs(rs), rs[0].Text, len(h.Mail.All())-mails)
	}
	if rs = h.Click("U1", aliceMail, app); !hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf("the app from the first menu: %v", storetest.IDs(rs))
	}
	code, _ := totp.Code(secret, h.Clock.Now())
	if rs = h.Say("U1", aliceMail, code); !hasMsg(rs, flows.MsgProvenMore) {
		t.Fatalf("code: %v", storetest.IDs(rs))
	}
	if rs = h.Click("U1", aliceMail, app); !hasMsg(rs, flows.MsgChooseMethodAgain) {
		t.Fatalf("a proven method from the first menu: %v", storetest.IDs(rs))
	}
	if rs = h.Click("U1", aliceMail, email); !hasMsg(rs, flows.MsgEmailSent) {
		t.Fatalf("email from the first menu after the app: %v", storetest.IDs(rs))
	}
	h.Say("U1", aliceMail, "cancel")
	h.Say("U1", aliceMail, "reset")
	if rs = h.Click("U1", aliceMail, email); !hasMsg(rs, flows.MsgStaleButton) {
		t.Fatalf("a button of a cancelled conversation: %v", storetest.IDs(rs))
	}
}

// The method menu the bot posts after the security-questions page is the latest menu: a
// lockout alert that came while the page was open no longer takes "1", the authenticator does.
func TestMenuAfterTheQuestionsPageIsTheLatest(t *testing.T) {
	h, _ := newAlice(t)
	ctx := context.Background()
	chat := storetest.Chat("U1")
	if err := h.Store.Pin(ctx, chat.Key(), storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	pol, v, _ := h.Store.GetPolicy(ctx)
	pol.Methods = append(pol.Methods, flows.MethodQuestions)
	if _, err := h.Store.PutPolicy(ctx, pol, v); err != nil {
		t.Fatal(err)
	}
	h.Clock.Advance(6 * time.Second) // past the policy cache
	now := h.Clock.Now()
	ws := &flows.WebState{UserID: storetest.Alice.ID, ChatKey: chat.Key(), Purpose: flows.PurposeRegister, SignedInAt: now,
		ExpiresAt: now.Add(10 * time.Minute)}
	setup, err := h.Engine.QuestionChoices(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	answer := map[string]string{}
	var qs, as []string
	for i, q := range setup.Choices[:setup.Count] {
		qs, as = append(qs, q), append(as, "answer number "+strconv.Itoa(i+1)+" here")
		answer[q] = as[i]
	}
	if err := h.Engine.RegisterQuestions(ctx, ws, qs, as); err != nil {
		t.Fatal(err)
	}
	h.Say("U1", aliceMail, "reset")
	rs := h.Say("U1", aliceMail, "security questions")
	link := storetest.Link(t, rs)
	// a lockout alert arrives while the page is open
	a := storetest.Alice
	a.Locked, a.LockedAt = true, h.Clock.Now()
	if n, err := flows.NewLockoutWatch(h.Engine, &locks{a}, h.Store, h.Store, "r1").Poll(ctx); err != nil || n != 1 {
		t.Fatalf("alert: %d %v", n, err)
	}
	asked, err := h.Engine.OpenQuestions(ctx, token(link))
	if err != nil {
		t.Fatal(err)
	}
	var given []string
	for _, q := range asked {
		given = append(given, answer[q])
	}
	if res, err := h.Engine.AnswerQuestionsOnPage(ctx, token(link), given); err != nil || !res.OK {
		t.Fatalf("answers: %+v %v", res, err)
	}
	if last := h.Notes.Replies[len(h.Notes.Replies)-1]; last.MsgID != flows.MsgProvenMore || len(last.Choices) == 0 {
		t.Fatalf("after the page: %+v", last)
	}
	if rs = h.Say("U1", aliceMail, "1"); !hasMsg(rs, flows.MsgEnterTOTP) {
		t.Fatalf(`"1" after the page's menu: %v`, storetest.IDs(rs))
	}
}
