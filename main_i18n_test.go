package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/bot/notify/smtptest"
	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/bot/teams/teamstest"
	"github.com/resetbot/resetbot/flows/method/totp"
)

// subjectOf reads a sent mail's subject (RFC 2047 decoded).
func subjectOf(t *testing.T, m smtptest.Message) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A German Slack user (users.info locale de-DE) registers, verifies and resets in German: the
// chat, the buttons, the pages (a German browser), the codes and notices by email.
func TestSlackGermanEndToEnd(t *testing.T) {
	w := newWorld(t)
	alice := w.users[0]
	fake := fakeslack.Start(t)
	fake.AddUser(fakeslack.User{ID: "UALICE", TeamID: slackTeam, Email: alice.Mail, EmailConfirmed: true, Locale: "de-DE", TZ: "Europe/Berlin"})
	sa, err := slackbot.New(slackbot.Config{BotToken: "xoxb-1", AppToken: "xapp-1", SigningSecret: slackSecret, Socket: true, TeamIDs: []string{slackTeam},
		APIURL: fake.GetAPIURL()}, w.eng, w.st, w.clock, w.log, slackbot.WithSleep(w.clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	w.app.Route(slackbot.Platform, sa)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sa.RunSocket(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	seq := 0
	last := func() fakeslack.Post { ps := fake.Posts(); return ps[len(ps)-1] }
	say := func(text string) fakeslack.Post {
		seq++
		n := len(fake.Posts())
		fake.SendEnvelope("events_api", "env-m"+itoa(seq), fakeslack.MessageEvent(slackTeam, "Ev"+itoa(seq), "UALICE", text))
		fake.WaitPosts(n + 1)
		sa.Wait()
		return last()
	}
	click := func(p fakeslack.Post) fakeslack.Post {
		seq++
		var act, val string
		for _, b := range fakeslack.Buttons(p) {
			if strings.HasPrefix(b[0], "choice:") && act == "" {
				act, val = b[0], b[1]
			}
		}
		n := len(fake.Posts())
		fake.SendEnvelope("interactive", "env-c"+itoa(seq), fakeslack.BlockAction(slackTeam, "Tr"+itoa(seq), "UALICE", act, val, p))
		fake.WaitPosts(n + 2)
		sa.Wait()
		return last()
	}
	linkOf := func(p fakeslack.Post) string {
		var blocks []map[string]any
		_ = json.Unmarshal([]byte(p.Blocks), &blocks)
		for _, b := range blocks {
			for _, el := range asAnyList(b["elements"]) {
				if u, ok := el.(map[string]any)["url"].(string); ok {
					return u
				}
			}
		}
		t.Fatalf("no link in %s", p.Blocks)
		return ""
	}
	want := func(p fakeslack.Post, s string) {
		t.Helper()
		if !strings.Contains(p.Text, s) && !strings.Contains(p.Blocks, s) {
			t.Fatalf("want %q in %q %s", s, p.Text, p.Blocks)
		}
	}

	p := say("registrieren")
	want(p, "Öffne diesen Einmal-Link innerhalb von 10 Minuten")
	want(p, "Einmal-Seite öffnen")
	sent := len(w.smtp.Messages())
	b, secret, _ := w.registerOnWebIn(t, linkOf(p), alice, "de-DE,de;q=0.9", "Deine Methoden sind eingerichtet")
	if s := subjectOf(t, w.smtp.Messages()[sent]); s != "Deinem Konto wurde eine Bestätigungsmethode hinzugefügt" {
		t.Fatalf("registration notice subject %q", s)
	}
	w.eng.Drain()
	want(last(), "Alles bereit: 2 von 2 Wegen")

	w.clock.Advance(30 * time.Second)
	p = say("Ich bin ausgesperrt")
	want(p, "Code aus der Authenticator-App")
	p = click(p)
	want(p, "Öffne deine Authenticator-App")
	code, _ := totp.Code(secret, w.clock.Now())
	p = say(code)
	want(p, "Danke, das stimmt. Bitte noch ein Nachweis.")
	sent = len(w.smtp.Messages())
	p = click(p)
	want(p, "Ich habe einen 6-stelligen Code an a***@m****.test geschickt")
	m := w.smtp.Wait(t, sent+1)[sent]
	if s := subjectOf(t, m); s != "Dein resetbot-Bestätigungscode" || !strings.Contains(m.Data, "Dein Code lautet") {
		t.Fatalf("code mail %q:\n%s", s, m.Data)
	}
	p = say(anyMailCode(t, m))
	want(p, "Danke, du bist bestätigt.")
	b.Get(linkOf(p))
	if !strings.Contains(b.Last, "Neues Passwort festlegen") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	sent = len(w.smtp.Messages())
	b.Submit("", url.Values{"password": {"Sunny-Meadow-42"}, "confirm": {"Sunny-Meadow-42"}})
	if !strings.Contains(b.Last, "Dein Passwort wurde geändert") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	if ch := w.tenant.Changes(); len(ch) == 0 || ch[0].Kind != "password" || ch[0].UserID != alice.ID {
		t.Fatalf("tenant changes %+v", ch)
	}
	w.eng.Drain()
	fake.WaitPosts(len(fake.Posts()))
	if p := last(); !strings.Contains(p.Text, "Dein Passwort wurde geändert. Du kannst dich jetzt damit anmelden.") || !strings.Contains(p.Blocks, "Das war ich nicht") {
		t.Fatalf("the DM was not told in German: %+v", p)
	}
	notice := w.smtp.Wait(t, sent+1)[sent]
	if s := subjectOf(t, notice); s != "Dein Passwort wurde zurückgesetzt" || !strings.Contains(notice.Data, "Uhr (CE") {
		t.Fatalf("reset notice %q:\n%s", s, notice.Data)
	}
}

// A French Teams user (the activity's locale fr-FR) registers, verifies and resets in French.
func TestTeamsFrenchEndToEnd(t *testing.T) {
	w := newWorld(t)
	alice := w.users[0]
	const appID, tenant = "11111111-aaaa-4bbb-8ccc-000000000b07", "00000000-0000-4000-8000-00000000feed"
	bf := teamstest.Start(t, appID)
	ta, err := teams.New(teams.Config{AppID: appID, AppSecret: "bot-secret", TenantID: tenant, AllowedTenants: []string{tenant},
		ServiceHosts: []string{"127.0.0.1"}, Metadata: bf.URL() + "/openid", TokenURL: bf.URL() + "/token"}, w.eng, w.st, w.clock, w.log,
		teams.WithSleep(w.clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	w.app.Route(teams.Platform, ta)
	srv := httptest.NewServer(ta.Handler())
	t.Cleanup(srv.Close)
	seq := 0
	card := func() (string, []map[string]any) {
		ps := bf.Posts()
		c := ps[len(ps)-1].Activity["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
		var texts []string
		for _, x := range c["body"].([]any) {
			texts = append(texts, x.(map[string]any)["text"].(string))
		}
		var actions []map[string]any
		if as, ok := c["actions"].([]any); ok {
			for _, a := range as {
				actions = append(actions, a.(map[string]any))
			}
		}
		return strings.Join(texts, "\n"), actions
	}
	send := func(text string, value any) (string, []map[string]any) {
		seq++
		act := map[string]any{"type": "message", "id": "act-" + strconv.Itoa(seq), "serviceUrl": bf.URL(), "channelId": "msteams",
			"from": map[string]any{"id": "29:alice", "aadObjectId": alice.ID}, "recipient": map[string]any{"id": "28:" + appID},
			"conversation": map[string]any{"id": "a:conv", "conversationType": "personal", "tenantId": tenant},
			"channelData":  map[string]any{"tenant": map[string]any{"id": tenant}}, "text": text,
			"locale": "fr-FR", "localTimezone": "Europe/Paris"}
		if value != nil {
			act["value"] = value
		}
		now := w.clock.Now()
		tok := bf.Token(t, "k1", nil, jwt.MapClaims{"iss": teams.BotFrameworkIssuer, "aud": appID, "serviceurl": bf.URL(),
			"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix()})
		body, _ := json.Marshal(act)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("activity: %v %v", err, resp)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ta.Wait()
		return card()
	}
	first := func(actions []map[string]any, kind string) map[string]any {
		for _, a := range actions {
			if a["type"] == kind {
				return a
			}
		}
		t.Fatalf("no %s in %v", kind, actions)
		return nil
	}
	want := func(text, s string) {
		t.Helper()
		if !strings.Contains(text, s) {
			t.Fatalf("want %q in %q", s, text)
		}
	}
	text, actions := send("enregistrer", nil)
	want(text, "Ouvrez ce lien à usage unique dans les 10 minutes")
	if first(actions, "Action.OpenUrl")["title"] != "Ouvrir la page à usage unique" {
		t.Fatalf("link action %v", actions)
	}
	b, secret, _ := w.registerOnWebIn(t, first(actions, "Action.OpenUrl")["url"].(string), alice, "fr-FR,fr;q=0.9", "Vos méthodes sont enregistrées")
	w.eng.Drain()
	text, _ = card()
	want(text, "C'est prêt : 2 sur 2 moyens")
	w.clock.Advance(30 * time.Second)
	text, actions = send("je suis bloqué", nil)
	want(text, "j'ai besoin de 2 preuves que c'est bien vous")
	if !strings.HasSuffix(first(actions, "Action.Submit")["title"].(string), "Code de l'application d'authentification") {
		t.Fatalf("method button %v", actions)
	}
	text, _ = send("", first(actions, "Action.Submit")["data"])
	want(text, "Ouvrez votre application d'authentification")
	code, _ := totp.Code(secret, w.clock.Now())
	text, actions = send(code, nil)
	want(text, "Merci, c'est bon. Encore une preuve")
	sent := len(w.smtp.Messages())
	text, _ = send("", first(actions, "Action.Submit")["data"])
	want(text, "J'ai envoyé un code à 6 chiffres à a***@m****.test")
	m := w.smtp.Wait(t, sent+1)[sent]
	if s := subjectOf(t, m); s != "Votre code de vérification resetbot" {
		t.Fatalf("code mail subject %q", s)
	}
	text, actions = send(anyMailCode(t, m), nil)
	want(text, "Merci, votre identité est vérifiée.")
	b.Get(first(actions, "Action.OpenUrl")["url"].(string))
	b.Submit("", url.Values{"password": {"Sunny-Meadow-42"}, "confirm": {"Sunny-Meadow-42"}})
	if !strings.Contains(b.Last, "Votre mot de passe a été changé") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	if ch := w.tenant.Changes(); len(ch) == 0 || ch[0].Kind != "password" || ch[0].UserID != alice.ID {
		t.Fatalf("tenant %+v", ch)
	}
	w.eng.Drain()
	text, actions = card()
	want(text, "Votre mot de passe a été changé. Vous pouvez vous connecter avec dès maintenant.")
	if first(actions, "Action.Submit")["title"] != "Ce n'était pas moi" {
		t.Fatalf("not-me button %v", actions)
	}
}
