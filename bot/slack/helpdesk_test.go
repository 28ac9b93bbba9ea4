package slack_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
)

// notifyVia posts the engine's notices through the adapter built after the engine.
type notifyVia struct{ a *slack.Adapter }

func (n *notifyVia) Notify(ctx context.Context, c flows.ChatRef, r []flows.Reply) error {
	return n.a.Notify(ctx, c, r)
}

// A helpdesk agent types /sspr verify in Slack; the person picks the number in their own DM,
// and the agent's DM says verified. Someone outside HELPDESK_GROUPS is refused.
func TestHelpdeskVerifyInSlack(t *testing.T) {
	e := setup(t, false)
	e.h.Dir.Add(flows.Account{ID: "bob-0002", Mail: "bob@contoso.test", UPN: "bob@contoso.test", DisplayName: "Bob", Enabled: true,
		Groups: []string{"grp-helpdesk"}})
	e.fake.AddUser(fakeslack.User{ID: "UBOB", TeamID: team, Email: "bob@contoso.test", EmailConfirmed: true})
	alice := flows.ChatRef{Platform: slack.Platform, Tenant: team, UserID: "UALICE"}
	if err := e.h.Store.Pin(context.Background(), alice.Key(), "a11ce-0001"); err != nil {
		t.Fatal(err)
	}
	via := &notifyVia{}
	e.h.Deps.Notifier = via
	e.h.Opts.HelpdeskGroups = []string{"grp-helpdesk"}
	e.h.Rebuild()
	e.a = e.adapter(t, false)
	via.a = e.a
	e.srv.Config.Handler = e.a.HTTPHandler()

	if out := e.command(t, "UALICE", "verify bob@contoso.test"); !strings.Contains(out, "only helpdesk agents") {
		t.Fatalf("non-member: %q", out)
	}
	out := e.command(t, "UBOB", "verify alice@contoso.test")
	m := regexp.MustCompile(`number to the caller: (\d\d)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("agent: %q", out)
	}
	// Alice's DM has the three numbers and "I'm not on a call"
	var prompt fakeslack.Post
	for _, p := range e.fake.Posts() {
		if strings.Contains(p.Text, "Bob from the helpdesk") {
			prompt = p
		}
	}
	bs := fakeslack.Buttons(prompt)
	if len(bs) != 4 {
		t.Fatalf("buttons: %v", bs)
	}
	for _, b := range bs {
		if strings.HasPrefix(b[1], "h:"+m[1]+"|") {
			e.clickAs(t, "UALICE", "TrHd1", b[0], b[1])
		}
	}
	if p := lastPost(t, e.fake, "chat.postMessage"); !strings.Contains(p.Text, "right number") || p.Channel != prompt.Channel {
		t.Fatalf("Alice told: %+v", p)
	}
	told := false
	for _, p := range e.fake.Posts() {
		told = told || p.Text == "Alice is verified with number matching in chat at 09:00 UTC." && p.Channel != prompt.Channel
	}
	if !told {
		t.Fatalf("agent not told: %+v", e.fake.Posts())
	}
}
