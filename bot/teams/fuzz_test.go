package teams_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/teams"
	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/store/storetest"
)

// Teams activities with a valid Bot Framework token but any body: no panic, a plain status,
// and only activities of an allowed tenant, from the service URL the token names, reach the
// engine, identified by their Entra object id.
func FuzzTeamsActivities(f *testing.F) {
	e := setup(f)
	rec := &storetest.Recorder{Engine: e.h.Engine}
	a, err := teams.New(teams.Config{AppID: appID, AppSecret: "bot-secret", TenantID: tenant, AllowedTenants: []string{tenant},
		ServiceHosts: []string{"127.0.0.1"}, Metadata: e.bf.URL() + "/openid", TokenURL: e.bf.URL() + "/token"},
		rec, e.h.Store, e.h.Clock, bot.NewLogger(e.h.Logs, "error"), teams.WithSleep(e.h.Clock.Sleep))
	if err != nil {
		f.Fatal(err)
	}
	h := a.Handler()
	auth := "Bearer " + e.bf.Token(f, "k1", nil, e.claims(e.bf.URL()))
	for _, act := range []map[string]any{e.activity("message", "I'm locked out", nil), e.activity("message", "", map[string]any{"choice": "m:totp|s|1"}),
		e.activity("conversationUpdate", "", nil), e.activity("installationUpdate", "", nil)} {
		b, _ := json.Marshal(act)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		a.Wait()
		switch w.Code {
		case 200, 201, 202, 400, 401, 403, 413:
		default:
			t.Fatalf("status %d", w.Code)
		}
		for _, in := range rec.Take() {
			if in.Chat.Tenant != tenant || in.Claim.Kind != flows.ClaimObjectID || in.Claim.Value == "" {
				t.Fatalf("the engine was asked for %+v", in)
			}
		}
	})
}
