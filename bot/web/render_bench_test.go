package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/resetbot/resetbot/flows"
)

// renderRequest is a browser's request as the load test's driver sends it (a cookie of the
// link's form, no language chosen) as Server.headers hands it on.
func renderRequest() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/l/x", nil)
	r.AddCookie(&http.Cookie{Name: cookiePre, Value: random()})
	return r.WithContext(flows.WithLang(r.Context(), (&Server{}).lang(r)))
}

// BenchmarkRenderResetPage is the reset link's page (GET): the new-password form.
func BenchmarkRenderResetPage(b *testing.B) {
	s, r := &Server{}, renderRequest()
	tok, csrf := random(), random()
	w := httptest.NewRecorder()
	for b.Loop() {
		w.Body.Reset()
		s.render(w, r, http.StatusOK, "reset.html", view{Title: s.t(r, "web.title.reset"), Token: tok, CSRF: csrf, Back: "/l/" + tok,
			Rules: flows.PasswordRules{MinLength: 12}})
	}
}

// BenchmarkRenderDone is the reset POST's answer when the password was changed.
func BenchmarkRenderDone(b *testing.B) {
	s, r := &Server{}, renderRequest()
	w := httptest.NewRecorder()
	for b.Loop() {
		w.Body.Reset()
		s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.password_changed"), NoticeID: "web.password_changed"})
	}
}
