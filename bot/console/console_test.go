package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/flows"
)

type echo struct{ got []flows.Inbound }

func (e *echo) Handle(_ context.Context, in flows.Inbound) ([]flows.Reply, error) {
	e.got = append(e.got, in)
	return []flows.Reply{{Text: "pick", Choices: []flows.Choice{{ID: "a|s|1", Label: "First"}, {ID: "b|s|1", Label: "Second"}}}}, nil
}

func TestPipedConversation(t *testing.T) {
	h := &echo{}
	var out bytes.Buffer
	c := console.New(h, []console.Person{{UPN: "alice@contoso.test"}, {UPN: "bob@contoso.test"}}, &out)
	in := strings.NewReader("hello before choosing\n1\nI'm locked out\n2\n/as 2\n3\n/quit\nnever read\n")
	if err := c.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 3 {
		t.Fatalf("handled %d messages: %+v", len(h.got), h.got)
	}
	if h.got[0].Text != "I'm locked out" || h.got[0].Claim.Value != "alice@contoso.test" || h.got[0].Claim.Kind != flows.ClaimUPN {
		t.Fatalf("first: %+v", h.got[0])
	}
	// the number goes to the engine as typed: the latest menu is the conversation's (kept in
	// the store), not the console's, so Slack, Teams and the console pick alike
	if h.got[1].Text != "2" || h.got[1].Choice != "" {
		t.Fatalf("a number was not passed on as typed: %+v", h.got[1])
	}
	if h.got[2].Chat.UserID != "bob@contoso.test" || h.got[2].Text != "3" {
		t.Fatalf("bob's message: %+v", h.got[2])
	}
	if h.got[0].IdemKey == h.got[1].IdemKey {
		t.Fatal("idempotency keys repeat")
	}
	if !strings.Contains(out.String(), "  2) Second") || !strings.Contains(out.String(), "Pick who you are first") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// A line longer than MaxLine (here 1 MiB) is refused politely and skipped; the lines around it
// are handled, and the end of the input ends Run without an error.
func TestLongLineRefusedAndEndOfInputIsNotAnError(t *testing.T) {
	h := &echo{}
	var out bytes.Buffer
	c := console.New(h, []console.Person{{UPN: "alice@contoso.test"}}, &out)
	huge := strings.Repeat("x", 1<<20)
	exact := strings.Repeat("y", console.MaxLine-1) // with its newline it fills the buffer exactly
	in := strings.NewReader("1\nfirst\n" + huge + "\nsecond\n" + exact + "\nlast without newline")
	if err := c.Run(context.Background(), in); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var texts []string
	for _, g := range h.got {
		texts = append(texts, g.Text)
	}
	if len(texts) != 4 || texts[0] != "first" || texts[1] != "second" || texts[2] != exact || texts[3] != "last without newline" {
		t.Fatalf("handled %d lines: %.40q", len(texts), texts)
	}
	if n := strings.Count(out.String(), "That line is too long"); n != 1 {
		t.Fatalf("refused %d times:\n%.500s", n, out.String())
	}
	if strings.Contains(out.String(), "xxxx") {
		t.Fatal("the long line was echoed")
	}
}

type admin struct {
	echo
	cmds []string
	who  []string
}

func (a *admin) Admin(_ context.Context, in flows.Inbound, text string) ([]flows.Reply, error) {
	a.cmds, a.who = append(a.cmds, text), append(a.who, in.Claim.Value)
	r := flows.Reply{Text: "admin says " + text}
	if text == "policy show" {
		r.File = &flows.Attachment{Name: "report.csv", Data: []byte("upn,methods\nalice@contoso.test,2\n")}
	}
	return []flows.Reply{r}, nil
}

// "/sspr ..." is a bot-admin command of the person acted as (switched to with "/as UPN") only
// where the admin commands are offered (the demo); elsewhere it is an ordinary message.
func TestAdminCommandsOnlyWhereOffered(t *testing.T) {
	lines := "/as dana@contoso.test\n/sspr policy show\n/sspr\n/ssprx\n/as alice@contoso.test\n/sspr unblock bob@contoso.test\n"
	h := &admin{}
	var out bytes.Buffer
	c := console.New(h, []console.Person{{UPN: "alice@contoso.test"}}, &out)
	c.OfferAdmin(h)
	if err := c.Run(context.Background(), strings.NewReader(lines)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(h.cmds, "|") != "policy show||unblock bob@contoso.test" ||
		strings.Join(h.who, "|") != "dana@contoso.test|dana@contoso.test|alice@contoso.test" {
		t.Fatalf("admin commands %q by %q", h.cmds, h.who)
	}
	if len(h.got) != 1 || h.got[0].Text != "/ssprx" {
		t.Fatalf("chat messages: %+v", h.got)
	}
	if !strings.Contains(out.String(), "admin says policy show\n  📎 report.csv\nupn,methods\nalice@contoso.test,2\n") {
		t.Fatalf("output:\n%s", out.String())
	}

	plain := &admin{}
	c = console.New(plain, []console.Person{{UPN: "alice@contoso.test"}}, &out)
	if err := c.Run(context.Background(), strings.NewReader(lines)); err != nil {
		t.Fatal(err)
	}
	if len(plain.cmds) != 0 || len(plain.got) != 4 {
		t.Fatalf("without OfferAdmin: admin %q, chat %+v", plain.cmds, plain.got)
	}
}

// "/lang de" makes the console's people German speakers (as a Slack or Teams locale would):
// the console's own lines and the chat locale of every message follow; an unknown language is
// refused with the list.
func TestLangCommand(t *testing.T) {
	h := &echo{}
	var out bytes.Buffer
	c := console.New(h, []console.Person{{UPN: "alice@contoso.test"}}, &out)
	in := strings.NewReader("1\nhello\n/lang de\nPasswort vergessen\n/lang klingon\n/lang ja\nこんにちは\n/quit\n")
	if err := c.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(h.got) != 3 || h.got[0].Chat.Locale != "en" || h.got[1].Chat.Locale != "de" || h.got[2].Chat.Locale != "ja" {
		t.Fatalf("locales: %+v", h.got)
	}
	o := out.String()
	if !strings.Contains(o, "Der Chat spricht jetzt Deutsch.") || !strings.Contains(o, "Schreib /lang und eine dieser Sprachen: en, de,") ||
		!strings.Contains(o, "チャットの言語を日本語にしました。") {
		t.Fatalf("output:\n%s", o)
	}
}
