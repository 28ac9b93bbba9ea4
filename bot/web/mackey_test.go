package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/web"
	"github.com/resetbot/resetbot/store/storetest"
)

// restart is a rollout of the pages with other MAC keys (MAC_KEY and MAC_KEYS_OLD) over the same
// Redis: a fresh engine and a fresh page server.
func (e *env) restart(t *testing.T, mac []byte, old ...[]byte) {
	t.Helper()
	e.h.Restart(mac, old...)
	o, err := web.NewOIDC(context.Background(), e.tn.Issuer(), e.tn.ClientID, e.tn.ClientSecret, e.srv.URL, e.h.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = web.New(e.h.Engine, o, e.h.Crypto, e.h.Store, bot.NewLogger(e.h.Logs, "debug")).Handler()
}

// A page session (and the email code it is confirming) started under MAC key A keeps working
// after the pages restart with MAC_KEY=B and MAC_KEYS_OLD=A, and is gone with MAC_KEY=B alone.
func TestPageSessionSurvivesMACKeyRotation(t *testing.T) {
	keyA, keyB := storetest.NewKey(), storetest.NewKey()
	for _, tc := range []struct {
		name string
		old  [][]byte
		kept bool
	}{{"old key listed", [][]byte{keyA}, true}, {"old key dropped", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.restart(t, keyA)
			b := e.signIn(t, e.registerLink(t, e.alice), e.alice)
			if b.Status != 200 || !strings.HasSuffix(b.URL.Path, "/enrol") {
				t.Fatalf("after sign-in %d %s", b.Status, b.URL)
			}
			b.Submit("/enrol/begin", url.Values{"method": {"email"}, "address": {"alice.private@mail.test"}})
			if !strings.Contains(b.Last, "a***@m****.test") {
				t.Fatalf("email page:\n%s", b.Last)
			}
			code := storetest.CodeFrom(t, e.h.Mail.Last())
			e.restart(t, keyB, tc.old...)
			b.Submit("/enrol/confirm", url.Values{"code": {code}})
			registered := b.Status == http.StatusOK && strings.Contains(b.Last, "email address is registered")
			if registered != tc.kept {
				t.Fatalf("kept %v: confirm %d:\n%s", tc.kept, b.Status, b.Last)
			}
			if !tc.kept {
				if !strings.Contains(b.Last, "Link not valid") {
					t.Fatalf("a session under a dropped key: %d\n%s", b.Status, b.Last)
				}
				return
			}
			// the same session goes on under the new pages: it is still found on its next request
			b.Submit("/enrol/done", nil)
			if b.Status != http.StatusOK || strings.Contains(b.Last, "Link not valid") {
				t.Fatalf("done %d:\n%s", b.Status, b.Last)
			}
		})
	}
}
