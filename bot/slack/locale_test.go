package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	slackapi "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows"
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

// The App Home speaks the person's Slack language, the reconfirmation date in their language and
// time zone, with buttons in it.
func TestHomeViewInGerman(t *testing.T) {
	chat := flows.ChatRef{Locale: "de-DE", TimeZone: "Asia/Tokyo"}
	due := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC) // 1 December in Tokyo
	v := slack.HomeView(chat, flows.Overview{Eligible: true, Registered: []string{"Code per E-Mail an a***@m****.test"}, ReconfirmDue: due})
	b, _ := json.Marshal(v)
	s := string(b)
	for _, want := range []string{"Passwort-Selbstbedienung", "Eingerichtet: Code per E-Mail", "Bitte bestätige sie bis 1. Dezember 2026 erneut.",
		"Passwort zurücksetzen", "Konto entsperren", "Methoden einrichten"} {
		if !strings.Contains(s, want) {
			t.Errorf("want %q in %s", want, s)
		}
	}
}
