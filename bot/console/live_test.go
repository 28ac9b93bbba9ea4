package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/totp"
	"github.com/resetbot/resetbot/store/storetest"
)

type lazy struct{ h *storetest.Harness }

func (l lazy) Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error) {
	return l.h.Engine.Handle(ctx, in)
}

// A person who strays (a typo, words for methods, a resend, a wrong code, a typed password)
// reaches a reset in the console without starting over; the password they chose on the page,
// typed in chat afterwards, is refused; and the menu the bot posts afterwards ("This wasn't
// me") still answers to its number.
func TestConsoleMenusStayLive(t *testing.T) {
	h := storetest.New(t)
	alice := storetest.Alice
	h.Dir.Add(alice)
	secret := h.Enrol(alice.ID)
	var out bytes.Buffer
	c := console.New(lazy{h}, nil, &out)
	h.Deps.Notifier = c
	h.Rebuild()
	c.As(alice.UPN)
	var transcript strings.Builder
	defer func() { t.Logf("transcript:\n%s\n%s", transcript.String(), out.String()) }()
	say := func(line string, want flows.MsgID) []flows.Reply {
		t.Helper()
		rs, text, err := c.Say(context.Background(), line)
		transcript.WriteString("> " + line + "\n" + text)
		if err != nil || !storetest.Has(rs, want) {
			t.Fatalf("%q: %v %v\n%s", line, storetest.IDs(rs), err, text)
		}
		return rs
	}
	rs := say("i forgot my pasword", flows.MsgChooseMethod)
	if !strings.Contains(console.Render(rs), "  2) Email code") || rs[len(rs)-1].Choices[1].Key != "2" {
		t.Fatalf("menu: %+v", rs)
	}
	say("app", flows.MsgEnterTOTP)
	code, _ := totp.Code(secret, h.Clock.Now())
	rs = say(code, flows.MsgProvenMore)
	// the email keeps number 2 though the authenticator is no longer offered
	if ch := rs[len(rs)-1].Choices; len(ch) != 1 || ch[0].Key != "2" {
		t.Fatalf("second menu: %+v", ch)
	}
	say("2", flows.MsgEmailSent)
	say("I didn't get it", flows.MsgEmailSent)
	say("000000", flows.MsgCodeWrong)
	say("Sunflower#Quartz77", flows.MsgPasswordTyped)
	rs = say(storetest.CodeFrom(t, h.Mail.Last()), flows.MsgResetLink)
	link := storetest.Link(t, rs)
	const chosen = "Quiet meadow River stone" // no password's shape: known only from the page
	if err := h.Engine.ResetPassword(context.Background(), link[strings.LastIndex(link, "/")+1:], chosen, chosen); err != nil {
		t.Fatal(err)
	}
	transcript.WriteString("[the page sets the new password]\n")
	h.Engine.Drain() // the notice is sent after the page answered
	if !strings.Contains(out.String(), "1) This wasn't me") {
		t.Fatalf("the notice was not printed with its menu:\n%s", out.String())
	}
	transcript.WriteString("[resetbot → alice] " + strings.SplitN(out.String(), "] ", 2)[1])
	say("I set it to "+chosen, flows.MsgPasswordTyped)
	say("1", flows.MsgNotMe)
	if strings.Contains(strings.ToLower(h.LogText()), "meadow") {
		t.Fatal("the typed password reached the log")
	}
}
