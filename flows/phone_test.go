package flows_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store"
	"github.com/resetbot/resetbot/store/storetest"
)

// signedIn opens a registration link and signs in, through the engine's web API.
func signedIn(t *testing.T, h *storetest.Harness, chat string) flows.WebState {
	t.Helper()
	rs := h.Say(chat, aliceMail, "register")
	ws, err := h.Engine.BeginSignIn(context.Background(), token(linkOf(t, rs)))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.CompleteSignIn(context.Background(), &ws, flows.SignIn{ObjectID: storetest.Alice.ID, AuthTime: h.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestPhoneNumberUnusableUntilConfirmed(t *testing.T) {
	h, _ := newAlice(t)
	ctx := context.Background()
	ws := signedIn(t, h, "U1")
	show, err := h.Engine.BeginEnrol(ctx, &ws, flows.MethodSMS, "+1 425 555 0142")
	if err != nil || show.Masked != "+1 *** *** **42" {
		t.Fatalf("%+v %v", show, err)
	}
	rs := h.Say("U2", aliceMail, "reset")
	for _, r := range rs {
		for _, c := range r.Choices {
			if strings.Contains(c.Label, "Text message") {
				t.Fatal("an unconfirmed number is offered")
			}
		}
	}
	if _, err := h.Engine.ConfirmEnrol(ctx, &ws, storetest.CodeIn(t, h.Phone.All()[0])); err != nil {
		t.Fatal(err)
	}
	rs = h.Say("U2", aliceMail, "reset")
	rs = h.Click("U2", aliceMail, storetest.Choice(t, rs, "Text message"))
	if !hasMsg(rs, flows.MsgSMSSent) || !strings.Contains(rs[0].Text, "+1 *** *** **42") {
		t.Fatalf("%+v", rs)
	}
	// a number outside the allowed countries is refused on the page
	if _, err := h.Engine.BeginEnrol(ctx, &ws, flows.MethodVoice, "+44 20 7946 0958"); err == nil {
		t.Fatal("a number outside the allow-list was accepted")
	}
}

func TestPhoneBudgetStopsSendingAndAudits(t *testing.T) {
	h := storetest.New(t)
	h.WithPhones = true
	h.PhoneBudget = 2
	h.Dir.Add(storetest.Alice)
	h.Enrol(storetest.Alice.ID)
	var rs []flows.Reply
	for i := 0; i < 3; i++ {
		chat := fmt.Sprintf("B%d", i)
		rs = h.Say(chat, aliceMail, "reset")
		rs = h.Click(chat, aliceMail, storetest.Choice(t, rs, "Text message"))
	}
	if !hasMsg(rs, flows.MsgPhoneBudget) {
		t.Fatalf("third send: %v", storetest.IDs(rs))
	}
	if n := len(h.Phone.All()); n != 2 {
		t.Fatalf("%d sends with a budget of 2", n)
	}
	h.Audit.Close()
	ev, _ := store.Events(context.Background(), h.RDB)
	audited := false
	for _, e := range ev {
		audited = audited || (e.Action == "phone_budget" && e.Outcome == "exhausted")
	}
	if !audited || !strings.Contains(h.LogText(), "ALERT") {
		t.Fatal("the spent budget was not audited and alerted")
	}
}

func TestWrongSMSCodesFromTwoPlatformsStopAtTheCap(t *testing.T) {
	h := storetest.New(t)
	h.WithPhones = true
	h.Dir.Add(storetest.Alice)
	h.Enrol(storetest.Alice.ID)
	limit := h.Policy.Limits.FailMax
	in := func(i int, text, choice string) flows.Inbound {
		platform := []string{"slack", "teams"}[i%2]
		return flows.Inbound{Chat: flows.ChatRef{Platform: platform, Tenant: "T", UserID: fmt.Sprintf("chat%d", i), Locale: "en"},
			Claim: flows.Claim{Kind: flows.ClaimEmail, Value: aliceMail}, Text: text, Choice: choice, IdemKey: fmt.Sprintf("k-%d-%s-%s", i, text, choice)}
	}
	for i := 0; i < 10; i++ {
		rs, _ := h.Send(in(i, "reset", ""))
		rs, _ = h.Send(in(i, "", storetest.Choice(t, rs, "Text message")))
		if !hasMsg(rs, flows.MsgSMSSent) {
			t.Fatalf("session %d: %v", i, storetest.IDs(rs))
		}
	}
	// the 11th code within 10 minutes is refused
	rs, _ := h.Send(in(10, "reset", ""))
	if rs, _ = h.Send(in(10, "", storetest.Choice(t, rs, "Text message"))); !hasMsg(rs, flows.MsgTooManyCodes) {
		t.Fatalf("11th code: %v", storetest.IDs(rs))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for i := 0; i < 10; i++ {
		for j := 0; j < 5; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rs, _ := h.Send(in(i, fmt.Sprintf("00000%d", j), ""))
				mu.Lock()
				if hasMsg(rs, flows.MsgCodeWrong) {
					wrong++
				}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if wrong > limit {
		t.Fatalf("%d wrong codes judged across two platforms, cap %d", wrong, limit)
	}
	en, _ := h.Store.Get(context.Background(), storetest.Alice.ID)
	if !flows.IsBlocked(en, h.Clock.Now()) {
		t.Fatal("not blocked")
	}
}

type contactDir struct {
	*storetest.Directory
	methods []flows.Registered
}

func (c contactDir) Capabilities() flows.Capabilities {
	caps := c.Directory.Capabilities()
	caps.Contacts = c
	return caps
}

func (c contactDir) ContactMethods(context.Context, string) ([]flows.Registered, error) {
	return c.methods, nil
}

func TestDirectoryContactMethodsWhenThePolicyAllows(t *testing.T) {
	h := storetest.New(t)
	h.Deps.Directory = contactDir{Directory: h.Dir, methods: []flows.Registered{
		{Kind: flows.MethodSMS, Address: "+14255550142"}, {Kind: flows.MethodVoice, Address: "+442079460958"},
		{Kind: flows.MethodEmail, Address: "alice.dir@mail.test"}}}
	h.Rebuild()
	h.Dir.Add(storetest.Alice)
	ctx := context.Background()
	if err := h.Store.Register(ctx, storetest.Alice.ID, flows.Registered{Kind: flows.MethodEmail, Address: "alice.own@mail.test"}, 0); err != nil {
		t.Fatal(err)
	}
	if rs := h.Say("U1", aliceMail, "reset"); !hasMsg(rs, flows.MsgMustRegister) {
		t.Fatalf("directory methods used without the policy: %v", storetest.IDs(rs))
	}
	h.Policy.DirectoryMethods = true
	if _, err := h.Store.PutPolicy(ctx, h.Policy, 1); err != nil {
		t.Fatal(err)
	}
	h.Rebuild()
	rs := h.Say("U2", aliceMail, "reset")
	labels := storetest.Render(rs)
	for _, r := range rs {
		for _, c := range r.Choices {
			labels += c.Label + "\n"
		}
	}
	if !strings.Contains(labels, "Text message to +1 *** *** **42") || strings.Contains(labels, "Office phone") ||
		!strings.Contains(labels, "Email code to a***@m****.test") {
		t.Fatalf("choices: %s", labels)
	}
	rs = h.Click("U2", aliceMail, storetest.Choice(t, rs, "Email"))
	if got := h.Mail.Last().To[0]; got != "alice.own@mail.test" {
		t.Fatalf("the registered address must win over the directory's: %s", got)
	}
	rs = h.Say("U2", aliceMail, storetest.CodeFrom(t, h.Mail.Last()))
	rs = h.Click("U2", aliceMail, storetest.Choice(t, rs, "Text message"))
	if !hasMsg(rs, flows.MsgSMSSent) || !strings.Contains(h.Phone.All()[0], "+14255550142") {
		t.Fatalf("directory SMS: %v %v", storetest.IDs(rs), h.Phone.All())
	}
}

func TestBlocksCanBeListedAndCleared(t *testing.T) {
	h, _ := newAlice(t)
	ctx := context.Background()
	if bs, _ := h.Engine.Blocks(ctx); len(bs) != 0 {
		t.Fatalf("blocks before: %+v", bs)
	}
	rs := h.Say("U1", aliceMail, "reset")
	h.Click("U1", aliceMail, storetest.Choice(t, rs, "Email"))
	for i := 0; i < h.Policy.Limits.FailMax; i++ {
		h.Say("U1", aliceMail, "999999")
	}
	bs, err := h.Engine.Blocks(ctx)
	if err != nil || len(bs) != 1 || bs[0].UserID != storetest.Alice.ID || !bs[0].Until.Equal(h.Clock.Now().Add(h.Policy.Limits.BlockFor)) {
		t.Fatalf("blocks: %+v %v", bs, err)
	}
	if err := h.Engine.Unblock(ctx, "admin:bob", storetest.Alice.ID); err != nil {
		t.Fatal(err)
	}
	if bs, _ := h.Engine.Blocks(ctx); len(bs) != 0 {
		t.Fatalf("blocks after clearing: %+v", bs)
	}
	if rs := h.Say("U1", aliceMail, "reset"); !hasMsg(rs, flows.MsgChooseMethod) {
		t.Fatalf("after unblock: %v", storetest.IDs(rs))
	}
	h.Audit.Close()
	ev, _ := store.Events(ctx, h.RDB)
	found := false
	for _, x := range ev {
		found = found || (x.Action == "unblock" && x.Actor == "admin:bob" && x.Subject == storetest.Alice.ID)
	}
	if !found {
		t.Fatal("unblock not audited")
	}
}
