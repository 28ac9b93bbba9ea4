package web_test

import (
	"context"
	"crypto/rand"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/passkey"
	"github.com/resetbot/resetbot/flows/method/passkey/passkeytest"
)

// The passkey proof page follows the one-time link rules: GET shows the page (with the strict
// headers) and consumes nothing; a POST needs the page's CSRF cookie and an answer before it
// consumes the link; an accepted link is gone.
func TestPasskeyPageConsumesOnlyAnAnsweredPost(t *testing.T) {
	e, _ := passkeySetup(t)
	ctx := context.Background()
	base := e.h.Opts.BaseURL
	m, err := passkey.New(passkey.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	k := passkeytest.NewKey()
	u := flows.PasskeyUser{Handle: make([]byte, 32), Name: e.alice.UPN}
	_, _ = rand.Read(u.Handle)
	ch := make([]byte, 32)
	_, _ = rand.Read(ch)
	opts, _ := m.CreationOptions(u, ch)
	key, err := m.Create(u, ch, k.Create(opts, base, passkeytest.Ceremony{}))
	if err != nil {
		t.Fatal(err)
	}
	key.Name = "YubiKey"
	if err := e.h.Store.Register(ctx, e.alice.ID, flows.Registered{Kind: flows.MethodPasskey, Handle: u.Handle, Passkeys: []flows.Passkey{key}}, 0); err != nil {
		t.Fatal(err)
	}
	e.h.Enrol(e.alice.ID) // a second method, as the policy asks for two
	link := passkeyLink(t, e, "chat-page")
	h := e.srv.Config.Handler
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, link, nil))
		return w
	}
	post := func(cookie *http.Cookie, form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, link, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get()
	if w.Code != http.StatusOK || get().Code != http.StatusOK {
		t.Fatalf("GET %d", w.Code)
	}
	checkHeaders(t, w.Header())
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	body := w.Body.String()
	optsAttr := regexp.MustCompile(`data-options="([^"]+)"`).FindStringSubmatch(body)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	var pre *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-resetbot-pre" {
			pre = c
		}
	}
	if optsAttr == nil || csrf == nil || pre == nil || !pre.Secure || !pre.HttpOnly {
		t.Fatalf("page without options, CSRF token or cookie:\n%s", body)
	}
	answer := string(k.Get([]byte(html.UnescapeString(optsAttr[1])), base, passkeytest.Ceremony{}))
	if w := post(nil, url.Values{"csrf": {csrf[1]}, "response": {answer}}); w.Code != http.StatusForbidden || get().Code != http.StatusOK {
		t.Fatalf("without the cookie: %d, link gone: %v", w.Code, get().Code != http.StatusOK)
	}
	if w := post(pre, url.Values{"csrf": {csrf[1]}}); w.Code != http.StatusUnprocessableEntity || get().Code != http.StatusOK {
		t.Fatalf("without an answer: %d, link gone: %v", w.Code, get().Code != http.StatusOK)
	}
	if w := post(pre, url.Values{"csrf": {csrf[1]}, "response": {answer}}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Your passkey was accepted") {
		t.Fatalf("answer: %d\n%s", w.Code, w.Body.String())
	}
	if w := post(pre, url.Values{"csrf": {csrf[1]}, "response": {answer}}); w.Code != http.StatusNotFound || get().Code != http.StatusNotFound {
		t.Fatalf("the used link answered %d", w.Code)
	}
}
