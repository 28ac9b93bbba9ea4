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
		s.gone(w, http.StatusForbidden)
		return
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", plainReason(err))
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	if err := s.webs.PutWeb(r.Context(), key, ws); err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, http.StatusOK, "passkey_new.html", view{Title: "Add a passkey or security key", CSRF: ws.CSRF,
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
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", "Your browser did not send a passkey. Please try again (this page needs JavaScript).")
		return
	}
	name, err := s.e.FinishPasskey(r.Context(), &ws, []byte(resp))
	if perr := s.webs.PutWeb(r.Context(), key, ws); perr != nil {
		s.fail(w, perr)
		return
	}
	switch {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, "Done: the passkey \""+name+"\" is registered.", "")
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, http.StatusForbidden)
	case errors.Is(err, flows.ErrPasskeyRefused):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", "That passkey could not be registered: it did not verify you (a PIN, fingerprint or face), "+
			"or it is not a kind of key this organisation accepts. Nothing was saved.")
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", plainReason(err))
	default:
		s.fail(w, err)
	}
}

func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	ws, _, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	name, err := s.e.RemovePasskey(r.Context(), &ws, r.PostFormValue("id"))
	switch {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, "Removed: the passkey \""+name+"\".", "")
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, http.StatusForbidden)
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", "That passkey is not registered (any more).")
	default:
		s.fail(w, err)
	}
}

// passkeyProve consumes a passkey link with the browser's assertion and judges it as one
// counted attempt. An empty answer (no script, or the person cancelled) consumes nothing.
func (s *Server) passkeyProve(w http.ResponseWriter, r *http.Request, tok string) {
	resp := r.PostFormValue("response")
	if resp == "" || len(resp) > maxPasskeyResponse {
		s.render(w, http.StatusUnprocessableEntity, "error.html", view{Title: "No passkey",
			Error: "Your browser did not send a passkey. Go back and press the button again (this page needs JavaScript)."})
		return
	}
	ok, err := s.e.ProvePasskey(r.Context(), tok, []byte(resp))
	setCookie(w, cookiePre, "", -1)
	switch {
	case errors.Is(err, flows.ErrLinkGone):
		s.gone(w, http.StatusNotFound)
	case errors.Is(err, flows.ErrBlocked):
		s.render(w, http.StatusForbidden, "error.html", view{Title: "Not now", Error: "Too many attempts: self-service is paused for this account. Please contact the helpdesk."})
	case err != nil:
		s.fail(w, err)
	case ok:
		s.render(w, http.StatusOK, "done.html", view{Title: "Thank you", Notice: "Your passkey was accepted. Go back to the chat for the next step."})
	default:
		s.render(w, http.StatusUnprocessableEntity, "error.html", view{Title: "Not accepted",
			Error: "That passkey was not accepted. Go back to the chat to try again or choose another method."})
	}
}
