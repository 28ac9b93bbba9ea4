package slack_test

import (
	"context"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/flows"
)

// heard records the text of every message the engine is given.
type heard struct {
	slack.Engine
	texts []string
}

func (h *heard) Handle(ctx context.Context, in flows.Inbound) ([]flows.Reply, error) {
	h.texts = append(h.texts, in.Text)
	return h.Engine.Handle(ctx, in)
}

// A message reaches the engine as the person typed it, though Slack delivers it with &, < and >
// escaped and addresses and web links turned into links.
func TestMessagesReachTheEngineAsTyped(t *testing.T) {
	e := setup(t, false)
	rec := &heard{Engine: e.h.Engine}
	a, err := slack.New(slack.Config{BotToken: "xoxb-1-test", SigningSecret: secret, TeamIDs: []string{team}, APIURL: e.fake.GetAPIURL()},
		rec, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "debug"), slack.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	e.srv.Config.Handler = a.HTTPHandler()
	typed := []string{
		"I'm locked out & can't sign in <urgent>",
		"my address is alice@contoso.test, not a.b+c@mail.example.org",
		"see https://intranet.contoso.test/x?a=1&b=2 please",
		"123456",
		"can't get into outlook.com since this morning",
		"a < b > c && d",
	}
	for i, text := range typed {
		e.say(t, "EvTyped"+string(rune('A'+i)), text)
	}
	if len(rec.texts) != len(typed) {
		t.Fatalf("the engine heard %d messages: %q", len(rec.texts), rec.texts)
	}
	for i := range typed {
		if rec.texts[i] != typed[i] {
			t.Errorf("typed %q, the engine heard %q", typed[i], rec.texts[i])
		}
	}
}
