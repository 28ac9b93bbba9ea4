package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/graph/ad/adtest"
)

// serve's start-up checks name an app installed without files:write (by the feature that needs
// it) and an admin channel the bot was never invited to, and a service account delegated with
// the wizard's rights (lockoutTime), all at once.
func TestStartupChecksNameScopesAdminChannelAndADRights(t *testing.T) {
	tenant := startTenant(t)
	dc := adtest.Get(t)
	dc.CreateUser(t, "ops") // an ordinary user for the rights check
	fake := fakeslack.Start(t)
	var scopes []string
	for _, s := range slackbot.ManifestScopes() {
		if s != "files:write" {
			scopes = append(scopes, s)
		}
	}
	fake.SetScopes(scopes...)
	fake.AddChannel(fakeslack.Channel{ID: "CADMINS", Name: "sspr-admins"})
	env := opsEnv(t, tenant, true)
	for k, v := range map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-ops", "SLACK_SIGNING_SECRET": "0123456789abcdef0123", "SLACK_MODE": "http",
		"SLACK_TEAM_IDS": "T0CONTOSO", "SLACK_ADMIN_CHANNEL": "CADMINS", "SLACK_API_URL": fake.GetAPIURL(),
		"AD_URL": dc.URL, "AD_CA_FILE": dc.CAFile, "AD_BIND_DN": dc.WizardDN, "AD_BIND_PASSWORD": dc.WizardPW, "AD_BASE_DN": adtest.BaseDN} {
		env[k] = v
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb); code != 2 {
		t.Fatalf("serve: %d\n%s", code, errb.String())
	}
	for _, want := range []string{"the start-up checks failed", "lacks the scope files:write, needed for /sspr report csv",
		"not a member of SLACK_ADMIN_CHANNEL #sspr-admins", "/invite @resetbot", "cannot write lockoutTime", `dsacls "` + adtest.BaseDN + `"`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("the list lacks %q:\n%s", want, errb.String())
		}
	}
}
