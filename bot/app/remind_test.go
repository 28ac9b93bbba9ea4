package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot/app"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
)

// "remind now" while the scheduler steps: the campaign is planned on the scheduler's own
// goroutine, so the roster it walks is never written beside a step reading it. Under -race this
// fails when the campaign is planned on the admin's goroutine.
func TestRemindNowWhileTheSchedulerSteps(t *testing.T) {
	b := newBed(t, func(o *app.Options) {
		o.AdminGroups = []string{"grp-admins"}
		o.RemindEvery = time.Millisecond // the scheduler steps all the time
	})
	b.dir.Add(flows.Account{ID: "admin-1", UPN: "admin@contoso.test", Mail: "admin@contoso.test", Enabled: true, Groups: []string{"grp-admins"}})
	for i := 0; i < 20; i++ {
		mail := fmt.Sprintf("person%02d@contoso.test", i)
		b.dir.Add(flows.Account{ID: fmt.Sprintf("p-%02d", i), UPN: mail, Mail: mail, Enabled: true})
		b.slack.AddUser(fakeslack.User{ID: fmt.Sprintf("UP%02d", i), TeamID: slackTeam, Email: mail, EmailConfirmed: true, TZ: "UTC"})
	}
	stop := b.run(t)
	admin := flows.Inbound{Chat: flows.ChatRef{Platform: "console", Tenant: "local", UserID: "admin@contoso.test"},
		Claim: flows.Claim{Kind: flows.ClaimUPN, Value: "admin@contoso.test"}}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := b.app.Engine.Admin(context.Background(), admin, "remind now")
			if err != nil || len(rs) != 1 || !strings.Contains(rs[0].Text, "Reminder campaign started: 21 people") {
				t.Errorf("remind now: %v %+v", err, rs)
			}
		}()
	}
	wg.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
