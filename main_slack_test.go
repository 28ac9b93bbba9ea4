package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	slackbot "github.com/resetbot/resetbot/bot/slack"
	"github.com/resetbot/resetbot/bot/slack/fakeslack"
	"github.com/resetbot/resetbot/flows/method/totp"
)

const slackTeam = "T0CONTOSO"

// The whole path over Slack, in both transports: register, verify with buttons and codes, reset
// on the page; the fake tenant records the change through the real Graph SDK.
func TestSlackSocketModeEndToEnd(t *testing.T) { slackEndToEnd(t, true) }

func TestSlackHTTPEventsEndToEnd(t *testing.T) { slackEndToEnd(t, false) }

const slackSecret = "0123456789abcdef0123456789abcdef"

func slackEndToEnd(t *testing.T, socket bool) {
	w := newWorld(t)
	alice := w.users[0]
	fake := fakeslack.Start(t)
	fake.AddUser(fakeslack.User{ID: "UALICE", TeamID: slackTeam, Email: alice.Mail, EmailConfirmed: true})
	sa, err := slackbot.New(slackbot.Config{BotToken: "xoxb-1", AppToken: "xapp-1", SigningSecret: slackSecret, Socket: socket, TeamIDs: []string{slackTeam},
		APIURL: fake.GetAPIURL()}, w.eng, w.st, w.clock, w.log,
		slackbot.WithSleep(w.clock.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	w.app.Route(slackbot.Platform, sa)
	deliver := func(kind, id string, payload map[string]any) {
		fake.SendEnvelope(kind, id, payload)
	}
	if socket {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sa.RunSocket(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	} else {
		hs := httptest.NewServer(sa.HTTPHandler())
		t.Cleanup(hs.Close)
		deliver = func(kind, _ string, payload map[string]any) {
			raw, _ := json.Marshal(payload)
			path, ctype, body := "/slack/events", "application/json", raw
			if kind == "interactive" {
				path, ctype, body = "/slack/interactive", "application/x-www-form-urlencoded", []byte("payload="+url.QueryEscape(string(raw)))
			}
			req, _ := http.NewRequest(http.MethodPost, hs.URL+path, bytes.NewReader(body))
			for k, v := range slackbot.Sign(slackSecret, body, w.clock.Now()) {
				req.Header[k] = v
			}
			req.Header.Set("Content-Type", ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %v %v", path, err, resp)
			}
			resp.Body.Close()
		}
	}

	seq := 0
	last := func() fakeslack.Post { ps := fake.Posts(); return ps[len(ps)-1] }
	say := func(text string) fakeslack.Post {
		seq++
		n := len(fake.Posts())
		deliver("events_api", "env-m"+itoa(seq), fakeslack.MessageEvent(slackTeam, "Ev"+itoa(seq), "UALICE", text))
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
		deliver("interactive", "env-c"+itoa(seq), fakeslack.BlockAction(slackTeam, "Tr"+itoa(seq), "UALICE", act, val, p))
		fake.WaitPosts(n + 2) // the closed buttons, then the reply
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

	b, secret, _ := w.registerOnWeb(t, linkOf(say("register")), alice)
	w.clock.Advance(30 * time.Second)
	p := click(say("I'm locked out"))
	code, _ := totp.Code(secret, w.clock.Now())
	p = say(code)
	sent := len(w.smtp.Messages())
	p = click(p)
	if !strings.Contains(p.Text, "a***@m****.test") {
		t.Fatalf("email step: %q", p.Text)
	}
	p = say(mailCode(t, w.smtp.Wait(t, sent+1)[sent]))
	b.Get(linkOf(p))
	b.Submit("", url.Values{"password": {"Sunny-Meadow-42"}, "confirm": {"Sunny-Meadow-42"}})
	if !strings.Contains(b.Last, "Your password was changed") {
		t.Fatalf("reset page:\n%s", b.Last)
	}
	if ch := w.tenant.Changes(); len(ch) == 0 || ch[0].Kind != "password" || ch[0].UserID != alice.ID {
		t.Fatalf("tenant changes %+v", ch)
	}
	w.eng.Drain() // the chat notice is sent after the page answered
	fake.WaitPosts(len(fake.Posts()))
	if p := last(); !strings.Contains(p.Text, "Your password was changed") || p.Channel != "DUALICE" {
		t.Fatalf("the DM was not told: %+v", p)
	}
}

func asAnyList(v any) []any { l, _ := v.([]any); return l }

func itoa(n int) string { return strconv.Itoa(n) }
