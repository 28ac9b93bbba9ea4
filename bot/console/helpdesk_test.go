package console_test

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/console"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

type lazyAdmin struct{ h *storetest.Harness }

func (l lazyAdmin) Admin(ctx context.Context, in flows.Inbound, text string) ([]flows.Reply, error) {
	return l.h.Engine.Admin(ctx, in, text)
}

// The console command "/sspr verify <user>": the agent reads the number, the person (acted as
// with /as) types the number of the right choice, and the agent is told "verified".
func TestHelpdeskVerifyInTheConsole(t *testing.T) {
	h := storetest.New(t)
	alice := storetest.Alice
	h.Dir.Add(alice)
	h.Enrol(alice.ID)
	h.Dir.Add(flows.Account{ID: "b0b-0002", UPN: "bob@contoso.test", Mail: "bob@contoso.test", DisplayName: "Bob", Enabled: true,
		Groups: []string{"grp-helpdesk"}})
	if err := h.Store.Pin(context.Background(), console.Chat(alice.UPN).Key(), alice.ID); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := console.New(lazy{h}, nil, &out)
	c.OfferAdmin(lazyAdmin{h})
	h.Deps.Notifier = c
	h.Opts.HelpdeskGroups = []string{"grp-helpdesk"}
	h.Rebuild()
	if err := c.Run(context.Background(), strings.NewReader("/as "+alice.UPN+"\n/sspr verify bob@contoso.test\n/as bob@contoso.test\n/sspr verify "+alice.UPN+"\n")); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "only helpdesk agents") {
		t.Fatalf("non-member:\n%s", text)
	}
	m := regexp.MustCompile(`number to the caller: (\d\d)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("agent:\n%s", text)
	}
	// Alice's menu, as printed: "  2) 42"
	k := regexp.MustCompile(`(?m)^  (\d)\) ` + m[1] + `$`).FindStringSubmatch(text)
	if k == nil {
		t.Fatalf("Alice's menu:\n%s", text)
	}
	if _, err := strconv.Atoi(k[1]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := c.Run(context.Background(), strings.NewReader("/as "+alice.UPN+"\n"+k[1]+"\n")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "[resetbot → bob@contoso.test] Alice is verified with number matching in chat at 09:00 UTC.") ||
		!strings.Contains(out.String(), "right number") {
		t.Fatalf("answer:\n%s", out.String())
	}
}
