package teams_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// byPlatform posts Teams notices through the adapter and the rest to the harness's recorder.
type byPlatform struct{ teams, other flows.Notifier }

func (b *byPlatform) Notify(ctx context.Context, c flows.ChatRef, r []flows.Reply) error {
	if c.Platform == teams.Platform {
		return b.teams.Notify(ctx, c, r)
	}
	return b.other.Notify(ctx, c, r)
}

// "verify <user>" typed in Teams by a helpdesk agent starts number matching; the person's
// answer in their own chat reaches the agent's Teams chat as "verified".
func TestHelpdeskVerifyInTeams(t *testing.T) {
	e := setup(t)
	dave := flows.Account{ID: "da5e-0005", UPN: "dave@contoso.test", Mail: "dave@contoso.test", DisplayName: "Dave", Enabled: true,
		Groups: []string{storetest.Group}}
	e.h.Dir.Add(dave)
	e.h.Enrol(dave.ID)
	if err := e.h.Store.Pin(context.Background(), storetest.Chat("D1").Key(), dave.ID); err != nil {
		t.Fatal(err)
	}
	// refused while Alice is not in HELPDESK_GROUPS
	e.valid(t, e.activity("message", "verify dave@contoso.test", nil))
	if text, _ := lastCard(t, e.bf); !strings.Contains(text, "only helpdesk agents") {
		t.Fatalf("non-member: %q", text)
	}
	agent := storetest.Alice
	agent.Groups = append(agent.Groups, "grp-helpdesk")
	e.h.Dir.Add(agent)
	e.h.Deps.Notifier = &byPlatform{teams: e.a, other: e.h.Notes}
	e.h.Opts.HelpdeskGroups = []string{"grp-helpdesk"}
	e.h.Rebuild()
	a, err := teams.New(teams.Config{AppID: appID, AppSecret: "bot-secret", TenantID: tenant, AllowedTenants: []string{tenant},
		ServiceHosts: []string{"127.0.0.1"}, Metadata: e.bf.URL() + "/openid", TokenURL: e.bf.URL() + "/token"},
		e.h.Engine, e.h.Store, e.h.Clock, nil, teams.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	e.h.Deps.Notifier.(*byPlatform).teams = a
	e.srv.Config.Handler = a.Handler()

	e.valid(t, e.activity("message", "verify dave@contoso.test", nil))
	text, _ := lastCard(t, e.bf)
	m := regexp.MustCompile(`number to the caller: (\d\d)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("agent: %q", text)
	}
	prompt := e.h.Notes.Replies[len(e.h.Notes.Replies)-1]
	rs := e.h.Click("D1", dave.Mail, storetest.Choice(t, []flows.Reply{prompt}, m[1]))
	if !storetest.Has(rs, flows.MsgHelpdeskMatched) {
		t.Fatalf("person: %+v", rs)
	}
	if text, _ := lastCard(t, e.bf); text != "Dave is verified with number matching in chat at 09:00 UTC." {
		t.Fatalf("agent told: %q", text)
	}
	// the Teams client turns a typed address into a mailto link: the command still names Dave
	e.valid(t, e.activity("message", `<p>verify <a href="mailto:dave@contoso.test">dave@contoso.test</a></p>`, nil))
	if text, _ := lastCard(t, e.bf); !regexp.MustCompile(`number to the caller: \d\d`).MatchString(text) {
		t.Fatalf("agent, address as a link: %q", text)
	}
}
