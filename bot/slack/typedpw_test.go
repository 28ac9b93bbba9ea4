package slack_test

import (
	"context"
	"strings"
	"testing"
)

// The passphrase Alice just set on the page, typed in Slack, gets "Please don't type passwords
// here" and the conversation carries on; the words are in no log line of the adapter or the
// engine and in no message the bot posted.
func TestPasswordJustSetTypedInSlack(t *testing.T) {
	e := setup(t, false)
	link := converse(t, e,
		func(id, text string) { e.say(t, id, text) },
		func(tr, act, val string) { e.click(t, tr, act, val) })
	const pw = "Quiet meadow River stone"
	if err := e.h.Engine.ResetPassword(context.Background(), link[strings.LastIndex(link, "/")+1:], pw, pw); err != nil {
		t.Fatal(err)
	}
	e.h.Engine.Drain()
	e.say(t, "EvP1", "is it "+pw+"?")
	if got := posted(t, e); !strings.Contains(got, "Please don't type passwords here; if that was your password, change it") {
		t.Fatalf("reply: %s", got)
	}
	e.say(t, "EvP2", "reset my password")
	if got := posted(t, e); !strings.Contains(got, "Choose a method") {
		t.Fatalf("the conversation did not carry on: %s", got)
	}
	if strings.Contains(strings.ToLower(e.h.LogText()), "meadow") {
		t.Fatal("the password reached the log")
	}
	for _, p := range e.fake.Posts() {
		if strings.Contains(strings.ToLower(p.Text+p.Blocks), "meadow") {
			t.Fatalf("the bot repeated it: %+v", p)
		}
	}
}
