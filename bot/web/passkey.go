package web

import (
	"errors"
	"net/http"

	"github.com/resetbot/resetbot/flows"
)

// maxPasskeyResponse bounds the browser's WebAuthn answer (a few kilobytes even with a long
// attestation certificate chain); the POST body limit is 16 KiB.
const maxPasskeyResponse = 12 << 10

func (s *Server) passkeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /enrol/passkey", s.passkeyBegin)
	mux.HandleFunc("POST /enrol/passkey/finish", s.passkeyFinish)
	mux.HandleFunc("POST /enrol/passkey/remove", s.passkeyRemove)
}

// passkeyBegin names the new key and shows the page whose script asks the browser to create it.
func (s *Server) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	opts, err := s.e.BeginPasskey(r.Context(), &ws, r.PostFormValue("name"))
	switch {
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
		return
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.plainReason(r, err))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if err := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "passkey_new.html", view{Title: s.t(r, "page.enrol.passkey_button"), CSRF: ws.CSRF,
		Options: string(opts), Kind: ws.PendingEmail})
}

// passkeyFinish checks the new credential; the pending challenge is spent whatever happens.
func (s *Server) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	resp := r.PostFormValue("response")
	if resp == "" || len(resp) > maxPasskeyResponse {
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.t(r, "web.passkey_none_sent"))
		return
	}
	name, err := s.e.FinishPasskey(r.Context(), &ws, []byte(resp))
	if perr := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); perr != nil {
		s.fail(w, r, perr)
		return
	}
	switch {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, s.t(r, "web.passkey_done", name), "")
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
	case errors.Is(err, flows.ErrPasskeyRefused):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.t(r, "web.passkey_refused"))
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.plainReason(r, err))
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	ws, _, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		// the last passkey takes the method with it: asked first when that leaves too few
		if keys, err := s.e.PasskeyViews(r.Context(), ws.UserID); err == nil && len(keys) == 1 && keys[0].ID == r.PostFormValue("id") &&
			s.askBeforeRemoving(w, r, ws, flows.MethodPasskey, view{Kind: string(flows.MethodPasskey), PasskeyID: keys[0].ID}) {
			return
		}
	}
	name, err := s.e.RemovePasskey(r.Context(), &ws, r.PostFormValue("id"))
	switch {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, s.t(r, "web.passkey_removed", name), "")
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.t(r, "web.passkey_unknown"))
	default:
		s.fail(w, r, err)
	}
}

// passkeyProve consumes a passkey link with the browser's assertion and judges it as one
// counted attempt. An empty answer (no script, or the person cancelled) consumes nothing.
func (s *Server) passkeyProve(w http.ResponseWriter, r *http.Request, tok string) {
	resp := r.PostFormValue("response")
	if resp == "" || len(resp) > maxPasskeyResponse {
		s.render(w, r, http.StatusUnprocessableEntity, "error.html", view{Title: s.t(r, "web.title.no_passkey"),
			Error: s.t(r, "web.passkey_none_back")})
		return
	}
	res, err := s.e.ProvePasskeyOnPage(r.Context(), tok, []byte(resp))
	s.proofAnswered(w, r, res, err, "web.passkey_accepted", "web.title.not_accepted", "web.passkey_not_accepted")
}
