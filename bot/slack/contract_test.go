package slack_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
)

func checkCfg(e *env, channel string) slack.Config {
	return slack.Config{BotToken: "xoxb-1-test", SigningSecret: secret, TeamIDs: []string{team}, APIURL: e.fake.GetAPIURL(), AdminChannel: channel}
}

// The manifest asks for every scope the bot needs, and the start-up check passes with them.
func TestManifestScopesAreWhatTheBotNeeds(t *testing.T) {
	var need []string
	for _, u := range slack.ScopeUses {
		need = append(need, u.Scope)
	}
	got := slack.ManifestScopes()
	slices.Sort(need)
	slices.Sort(got)
	if !slices.Equal(need, got) {
		t.Fatalf("manifest scopes %v, the bot needs %v", got, need)
	}
	e := setup(t, false)
	e.fake.AddChannel(fakeslack.Channel{ID: "CADMINS", Name: "sspr-admins", BotMember: true})
	if p := slack.Check(context.Background(), checkCfg(e, "CADMINS")); len(p) != 0 {
		t.Fatalf("problems with the manifest's scopes: %v", p)
	}
}

// An app installed without files:write (the manifest before) is told so at start, by feature;
// and the upload is refused by the fake as Slack refuses it.
func TestCheckNamesMissingScopeAndFeature(t *testing.T) {
	e := setup(t, false)
	var without []string
	for _, s := range slack.ManifestScopes() {
		if s != "files:write" && s != "users:read.email" {
			without = append(without, s)
		}
	}
	e.fake.SetScopes(without...)
	p := slack.Check(context.Background(), checkCfg(e, ""))
	if len(p) != 2 || !strings.Contains(p[0], "users:read.email") || !strings.Contains(p[1], "files:write") || !strings.Contains(p[1], "/sspr report csv") {
		t.Fatalf("problems: %q", p)
	}
	err := e.a.Notify(context.Background(), flows.ChatRef{Platform: slack.Platform, Channel: "DUALICE"},
		[]flows.Reply{{Text: "report", File: &flows.Attachment{Name: "r.csv", Title: "r", Data: []byte("a,b\n")}}})
	if err == nil || !strings.Contains(err.Error(), "missing_scope") || !slices.Contains(e.fake.Missing(), "files.getUploadURLExternal") {
		t.Fatalf("upload without files:write: %v, missing %v", err, e.fake.Missing())
	}
}

// The admin channel without the bot: the check names it, and an alert is refused as Slack
// refuses it (not_in_channel).
func TestCheckAdminChannelWithoutTheBot(t *testing.T) {
	e := setup(t, false)
	e.fake.AddChannel(fakeslack.Channel{ID: "CADMINS", Name: "sspr-admins"})
	p := slack.Check(context.Background(), checkCfg(e, "CADMINS"))
	if len(p) != 1 || !strings.Contains(p[0], "not a member") || !strings.Contains(p[0], "/invite @resetbot") {
		t.Fatalf("problems: %q", p)
	}
	a, err := slack.New(checkCfg(e, "CADMINS"), e.h.Engine, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"), slack.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	a.Alert(context.Background(), flows.AuditEvent{Action: "x"}, "test alert")
	if r := e.fake.Refused(); !slices.Contains(r, "not_in_channel") {
		t.Fatalf("refusals %v", r)
	}
	// a private channel the bot is not in is invisible to it
	e.fake.AddChannel(fakeslack.Channel{ID: "GADMINS", Name: "secret", Private: true})
	if p := slack.Check(context.Background(), checkCfg(e, "GADMINS")); len(p) != 1 || !strings.Contains(p[0], "invite the bot") {
		t.Fatalf("private channel: %q", p)
	}
}

// A reply longer than one section takes (4,000 characters) arrives whole, split into sections
// Slack accepts; many buttons and blocks go out in several messages.
func TestLongReplyIsSplit(t *testing.T) {
	e := setup(t, false)
	var lines []string
	for i := 0; len(strings.Join(lines, "\n")) < 4000; i++ {
		lines = append(lines, "Question "+strings.Repeat("x", 40)+" & <more>")
	}
	long := strings.Join(lines, "\n")
	ctx := context.Background()
	chat := flows.ChatRef{Platform: slack.Platform, Channel: "DUALICE"}
	if err := e.a.Notify(ctx, chat, []flows.Reply{{Text: long}}); err != nil {
		t.Fatal(err)
	}
	if r := e.fake.Refused(); len(r) != 0 {
		t.Fatalf("refused: %v", r)
	}
	var got []string
	for _, p := range e.fake.Posts() {
		var blocks []struct {
			Text struct{ Text string } `json:"text"`
		}
		_ = json.Unmarshal([]byte(p.Blocks), &blocks)
		for _, b := range blocks {
			got = append(got, b.Text.Text)
		}
	}
	if len(got) < 2 {
		t.Fatalf("not split: %d sections", len(got))
	}
	joined := strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(strings.Join(got, "\n"), "&lt;", "<"), "&gt;", ">"), "&amp;", "&")
	if joined != long {
		t.Fatal("the split reply is not the reply")
	}
	// 40 replies with 30 choices each: more than 50 blocks and 25 buttons to a block
	var many []flows.Reply
	for i := 0; i < 40; i++ {
		r := flows.Reply{Text: "pick"}
		for j := 0; j < 30; j++ {
			r.Choices = append(r.Choices, flows.Choice{ID: "c", Label: strings.Repeat("l", 100)})
		}
		many = append(many, r)
	}
	before := len(e.fake.Posts())
	if err := e.a.Notify(ctx, chat, many); err != nil {
		t.Fatal(err)
	}
	if r := e.fake.Refused(); len(r) != 0 || len(e.fake.Posts())-before < 3 {
		t.Fatalf("refused %v, %d posts", r, len(e.fake.Posts())-before)
	}
}
