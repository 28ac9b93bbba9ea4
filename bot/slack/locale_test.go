package slack_test

import (
	"context"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/bot/slack/fakeslack"
)

// The fake answers users.info as Slack documents include_locale: the locale only when asked
// for (https://api.slack.com/methods/users.info: "Set this to true to receive the locale for
// this user. Defaults to false").
func TestFakeUsersInfoLocaleOnlyWhenAsked(t *testing.T) {
	fake := fakeslack.Start(t)
	fake.AddUser(fakeslack.User{ID: "UHANS", TeamID: team, Email: "hans@contoso.test", EmailConfirmed: true, Locale: "de-DE"})
	api := slackapi.New("xoxb-1-test", slackapi.OptionAPIURL(fake.GetAPIURL()))
	u, err := api.GetUserInfoContext(context.Background(), "UHANS", slackapi.GetUserInfoOptionIncludeLocale(false))
	if err != nil || u.Locale != "" {
		t.Fatalf("without include_locale: %q %v", u.Locale, err)
	}
	u, err = api.GetUserInfoContext(context.Background(), "UHANS")
	if err != nil || u.Locale != "de-DE" {
		t.Fatalf("with include_locale (slack-go's default): %q %v", u.Locale, err)
	}
}

// A Slack user whose locale is German is answered in German: replies, the link button and the
// App Home.
func TestSlackGermanUserIsAnsweredInGerman(t *testing.T) {
	e := setup(t, false)
	e.fake.AddUser(fakeslack.User{ID: "UALICE", TeamID: team, Email: "Alice@contoso.test", EmailConfirmed: true, Locale: "de-DE"})
	e.say(t, "Ev1", "Passwort vergessen")
	p := lastPost(t, e.fake, "chat.postMessage")
	if !strings.Contains(p.Text, "Um dein Passwort zurückzusetzen") {
		t.Fatalf("reply: %q", p.Text)
	}
	e.say(t, "Ev2", "registrieren")
	p = lastPost(t, e.fake, "chat.postMessage")
	if !strings.Contains(p.Blocks, "Einmal-Seite öffnen") {
		t.Fatalf("link button: %s", p.Blocks)
	}
	// a French message from the German user is answered in French
	e.say(t, "Ev3", "aide")
	p = lastPost(t, e.fake, "chat.postMessage")
	if !strings.Contains(p.Text, "Je vous aide à retrouver l'accès") {
		t.Fatalf("French reply: %q", p.Text)
	}
}
