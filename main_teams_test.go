package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/bot/teams/teamstest"
	"github.com/resetbot/resetbot/flows/method/totp"
)

// The whole path over Teams: register, verify with card buttons and codes, reset on the page;
// graphtest records the change through the real Graph SDK.
func TestTeamsEndToEnd(t *testing.T) {
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
	send := func(text string, value any) (string, []map[string]any) {
		seq++
		act := map[string]any{"type": "message", "id": "act-" + strconv.Itoa(seq), "serviceUrl": bf.URL(), "channelId": "msteams",
			"from": map[string]any{"id": "29:alice", "aadObjectId": alice.ID}, "recipient": map[string]any{"id": "28:" + appID},
			"conversation": map[string]any{"id": "a:conv", "conversationType": "personal", "tenantId": tenant},
			"channelData":  map[string]any{"tenant": map[string]any{"id": tenant}}, "text": text}
		if value != nil {
			act["value"] = value
		}
		now := w.clock.Now()
		tok := bf.Token(t, "k1", nil, jwt.MapClaims{"iss": teams.BotFrameworkIssuer, "aud": appID, "serviceurl": bf.URL(),
			"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix()})
		b, _ := json.Marshal(act)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/messages", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("activity: %v %v", err, resp)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ta.Wait()
		ps := bf.Posts()
		card := ps[len(ps)-1].Activity["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
		var text2 []string
		for _, x := range card["body"].([]any) {
			text2 = append(text2, x.(map[string]any)["text"].(string))
		}
		var actions []map[string]any
		if as, ok := card["actions"].([]any); ok {
			for _, a := range as {
				actions = append(actions, a.(map[string]any))
			}
		}
		return strings.Join(text2, "\n"), actions
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
	_, actions := send("register", nil)
	b, secret, _ := w.registerOnWeb(t, first(actions, "Action.OpenUrl")["url"].(string), alice)
	w.clock.Advance(30 * time.Second)
	_, actions = send("I'm locked out", nil)
	_, _ = send("", first(actions, "Action.Submit")["data"])
	code, _ := totp.Code(secret, w.clock.Now())
	_, actions = send(code, nil)
	sent := len(w.smtp.Messages())
	text, _ := send("", first(actions, "Action.Submit")["data"])
	if !strings.Contains(text, "a***@m****.test") {
		t.Fatalf("email step: %q", text)
	}
	_, actions = send(mailCode(t, w.smtp.Wait(t, sent+1)[sent]), nil)
	b.Get(first(actions, "Action.OpenUrl")["url"].(string))
	b.Submit("", url.Values{"password": {"Sunny-Meadow-42"}, "confirm": {"Sunny-Meadow-42"}})
	if ch := w.tenant.Changes(); len(ch) == 0 || ch[0].Kind != "password" || ch[0].UserID != alice.ID {
		t.Fatalf("tenant %+v", ch)
	}
	ps := bf.Posts()
	last := ps[len(ps)-1].Activity["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)["body"].([]any)[0].(map[string]any)["text"]
	if last != "Your password was changed. You can sign in with it now." {
		t.Fatalf("the Teams chat was not told: %v", last)
	}
}

func TestTeamsPackageCommand(t *testing.T) {
	out := t.TempDir() + "/pkg.zip"
	env := map[string]string{"TEAMS_APP_ID": "11111111-aaaa-4bbb-8ccc-000000000b07", "PUBLIC_BASE_URL": "https://resetbot.contoso.com"}
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"teams-package", out}, func(k string) string { return env[k] }, nil, &o, &e); code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 3 || zr.File[0].Name != "manifest.json" {
		t.Fatalf("package files %v", zr.File)
	}
	if code := run(context.Background(), []string{"teams-package", out}, func(string) string { return "" }, nil, &o, &e); code != 2 {
		t.Fatal("a package without an app id was written")
	}
}
