package web

import (
	"errors"
	"net/http"

	"github.com/resetbot/resetbot/flows"
)

// The password change page of an expiry reminder's "Change it now": the link page asks for a
// sign-in (as registration does), then /change shows the new-password form of a reset.

// changeForm shows the new-password form to a browser session signed in for a change.
func (s *Server) changeForm(w http.ResponseWriter, r *http.Request) {
	ws, _, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	rules, err := s.e.ChangeRules(r.Context(), &ws)
	if err != nil {
		s.gone(w, r, http.StatusForbidden)
		return
	}
	s.render(w, r, http.StatusOK, "reset.html", view{Title: s.t(r, "web.title.reset"), CSRF: ws.CSRF, Rules: rules, Action: "/change"})
}

// changePost sets the new password; the browser session ends with the change.
func (s *Server) changePost(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	err := s.e.ChangePassword(r.Context(), &ws, r.PostFormValue("password"), r.PostFormValue("confirm"))
	var pe *flows.PasswordError
	switch {
	case err == nil:
		_ = s.webs.DeleteWeb(r.Context(), key)
		setCookie(w, cookieSession, "", -1)
		s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.password_changed"),
			NoticeID: "web.password_changed_use"})
	case errors.As(err, &pe):
		rules, rerr := s.e.ChangeRules(r.Context(), &ws)
		if rerr != nil {
			s.gone(w, r, http.StatusForbidden)
			return
		}
		v := view{Title: s.t(r, "web.title.reset"), CSRF: ws.CSRF, Rules: rules, Action: "/change"}
		s.passwordError(r, &v, pe)
		s.render(w, r, http.StatusUnprocessableEntity, "reset.html", v)
	case errors.Is(err, flows.ErrNeedSignIn), errors.Is(err, flows.ErrLinkGone):
		s.gone(w, r, http.StatusForbidden)
	default:
		s.fail(w, r, err)
	}
}
