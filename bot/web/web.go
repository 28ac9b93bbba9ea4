package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/resetbot/resetbot/flows"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages are parsed once; each language gets a clone whose "t" renders the catalog's messages
// in it (pagesIn).
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"inc":       func(i int) int { return i + 1 },
	"pwsymbols": func() string { return flows.PasswordSymbols },
	"at": func(list []string, i int) string {
		if i < 0 || i >= len(list) {
			return ""
		}
		return list[i]
	},
	"t": func(id string, args ...any) string { return flows.Text("en", flows.MsgID(id), args...) },
	"q": func(q string) string { return flows.QuestionText("en", q) },
}).ParseFS(assets, "templates/*.html"))

var pagesByLang sync.Map // language → *template.Template

// pagesIn is the page templates speaking lang.
func pagesIn(lang string) *template.Template {
	if t, ok := pagesByLang.Load(lang); ok {
		return t.(*template.Template)
	}
	t := template.Must(pages.Clone()).Funcs(template.FuncMap{
		"t": func(id string, args ...any) string { return flows.Text(lang, flows.MsgID(id), args...) },
		"q": func(q string) string { return flows.QuestionText(lang, q) },
	})
	pagesByLang.Store(lang, t)
	return t
}

// cookieLang keeps the language a person picked with the switcher (not a secret; Lax).
const cookieLang = "__Host-resetbot-lang"

// lang is the page's language: the one picked with the switcher, else the browser's
// Accept-Language matched against the catalogs, else English.
func (s *Server) lang(r *http.Request) string {
	if l := flows.LangFrom(r.Context()); l != "" {
		return l // what headers found for this request
	}
	if c, err := r.Cookie(cookieLang); err == nil && slices.Contains(flows.Languages(), c.Value) {
		return c.Value
	}
	return flows.MatchAcceptLanguage(r.Header.Get("Accept-Language"))
}

// t renders a catalog message in the page's language.
func (s *Server) t(r *http.Request, id flows.MsgID, args ...any) string {
	return flows.Text(s.lang(r), id, args...)
}

// langSwitch is the language switcher's POST: it keeps the choice in a cookie and goes back to
// the page it was on (only the bot's own GET pages).
func (s *Server) langSwitch(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.gone(w, r, http.StatusBadRequest)
		return
	}
	lang := r.PostFormValue("lang")
	if !slices.Contains(flows.Languages(), lang) {
		s.gone(w, r, http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieLang, Value: lang, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	back := r.PostFormValue("back")
	if !(back == "/enrol" || back == "/recover" || strings.HasPrefix(back, "/l/") && !strings.ContainsAny(back[3:], "/?#\\")) {
		back = "/enrol"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// langChoice is one entry of the language switcher.
type langChoice struct {
	Tag, Name string
	Current   bool
}

// Cookie names: the __Host- prefix pins them to this origin, Secure, Path=/.
const (
	cookieSession = "__Host-resetbot"
	cookiePre     = "__Host-resetbot-pre"
)

// OIDC is the directory sign-in client.
type OIDC struct {
	Config   oauth2.Config
	Verifier *oidc.IDTokenVerifier
	Issuer   string
}

// NewOIDC discovers the provider at issuer; redirect is PUBLIC_BASE_URL + /oidc/callback.
func NewOIDC(ctx context.Context, issuer, clientID, secret, baseURL string, now func() time.Time) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return &OIDC{
		Config: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(),
			RedirectURL: strings.TrimSuffix(baseURL, "/") + "/oidc/callback", Scopes: []string{oidc.ScopeOpenID, "profile"}},
		Verifier: p.Verifier(&oidc.Config{ClientID: clientID, Now: now}),
		Issuer:   issuer,
	}, nil
}

// Server is the web front of the engine.
type Server struct {
	e    *flows.Engine
	oidc *OIDC
	mac  flows.MACer
	webs flows.WebStates
	log  *slog.Logger
	csp  string
	rec  *RecoverOptions
	// secHeaders are the security headers of every response
	secHeaders []header // the recovery page's limits; nil: no recovery page (recover.go)
}

// forUs reports whether an id_token was issued to this client alone, as OpenID Connect Core
// 3.1.3.7 asks (the verifier has already checked that the client is among the audiences):
// exactly one audience, or an authorized party (azp) that is this client; an azp naming
// another client is refused even with one audience.
func (o *OIDC) forUs(aud []string, azp string) bool {
	if azp != "" {
		return azp == o.Config.ClientID
	}
	return len(aud) == 1 && aud[0] == o.Config.ClientID
}

// New builds the pages.
func New(e *flows.Engine, o *OIDC, mac flows.MACer, webs flows.WebStates, log *slog.Logger) *Server {
	formAction := "'self'"
	if o != nil {
		if u, err := url.Parse(o.Config.Endpoint.AuthURL); err == nil {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	s := &Server{e: e, oidc: o, mac: mac, webs: webs, log: log,
		csp: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; form-action " + formAction +
			"; frame-ancestors 'none'; base-uri 'none'"}
	for _, kv := range [][2]string{{"Content-Security-Policy", s.csp}, {"Referrer-Policy", "no-referrer"},
		{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}, {"X-Frame-Options", "DENY"},
		{"Cross-Origin-Opener-Policy", "same-origin"}} {
		v := []string{kv[1]}
		s.secHeaders = append(s.secHeaders, header{key: http.CanonicalHeaderKey(kv[0]), val: v[:1:1]})
	}
	return s
}

type header struct {
	key string
	val []string
}

// Handler routes the pages behind the security headers.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /l/{token}", s.linkGet)
	mux.HandleFunc("POST /l/{token}", s.linkPost)
	mux.HandleFunc("GET /oidc/callback", s.callback)
	mux.HandleFunc("POST /signin", s.passwordSignIn)
	mux.HandleFunc("GET /enrol", s.enrolMenu)
	mux.HandleFunc("POST /enrol/begin", s.enrolBegin)
	mux.HandleFunc("POST /enrol/confirm", s.enrolConfirm)
	mux.HandleFunc("POST /enrol/resend", s.enrolResend)
	mux.HandleFunc("POST /enrol/cancel", s.enrolCancel)
	mux.HandleFunc("POST /enrol/questions", s.enrolQuestions)
	mux.HandleFunc("POST /enrol/reconfirm", s.enrolReconfirm)
	mux.HandleFunc("POST /enrol/remove", s.enrolRemove)
	mux.HandleFunc("POST /enrol/done", s.enrolDone)
	mux.HandleFunc("POST /lang", s.langSwitch)
	s.passkeyRoutes(mux)
	mux.HandleFunc("GET /change", s.changeForm)
	mux.HandleFunc("POST /change", s.changePost)
	s.recoverRoutes(mux)
	mux.Handle("GET /static/", http.FileServerFS(assets))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.gone(w, r, http.StatusNotFound) })
	return s.headers(mux)
}

func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// the same values on every response, each a slice of its own length and capacity 1 (an
		// Add to one of them copies it), in canonical form: what Header.Set stores, without
		// making them again per request
		for _, kv := range s.secHeaders {
			h[kv.key] = kv.val
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		}
		// what the page sends on the person's behalf (a code by email, text or call, a notice)
		// speaks the language they are reading
		r = r.WithContext(flows.WithLang(r.Context(), s.lang(r)))
		next.ServeHTTP(w, r)
	})
}

type view struct {
	Lang       string       // the page's language (html lang)
	Langs      []langChoice // the switcher
	Back       string       // the GET page the switcher returns to; empty: no switcher
	Title      string
	Error      string
	Notice     string
	NoticeID   flows.MsgID // instead of Notice: a catalog message without arguments (a skeleton can show it)
	Token      string
	CSRF       string
	Purpose    string
	Show       flows.EnrolShow
	QR         template.URL // a data: URI the engine generated, never user input
	Kind       string
	Registered []flows.MethodView
	Enrol      []flows.MethodKind
	Choices    []string // security questions offered or asked
	Slots      []int
	Rules      flows.PasswordRules // the new-password page: the rules of the person's domain
	Progress   string              // "1 of 2 ways registered"
	Options    string              // passkey pages: the WebAuthn options as JSON (public data)
	Passkeys   []flows.PasskeyView // the registered passkeys
	Action     string              // where the new-password form posts (the change page); the link by default
	// an error about one field: which (the method's address field "email", "sms", "voice"; the
	// questions' "q" and "a" with Slot), what it says, and what was typed, kept for the rest
	Field      string
	Slot       int
	FieldError string
	Typed      string
	Picked     []string // the questions chosen, slot by slot
	Answers    []string // the answers typed, slot by slot (the one in error left out)
	PasskeyID  string   // the removal confirmation of the last passkey: its id
}

func (s *Server) progressText(r *http.Request, p flows.Progress) string {
	return s.t(r, "web.progress", p.Have, p.Need)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.Lang = s.lang(r) // the switcher (v.Langs) is added by runTemplate, when html/template runs
	h := w.Header()
	h["Content-Type"] = htmlType[:1:1] // shared, as Header.Set would store it (an Add copies)
	h.Set("Content-Language", v.Lang)
	h.Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	if err := execute(w, name, v); err != nil {
		s.log.Error("render", "err", err, "page", name)
	}
}

// gone is the one page for any unknown, used or expired link: it reveals nothing.
func (s *Server) gone(w http.ResponseWriter, r *http.Request, status int) {
	s.render(w, r, status, "gone.html", view{Title: s.t(r, "web.title.gone")})
}

func random() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func setCookie(w http.ResponseWriter, name, val string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// linkGet shows what the link is for; it consumes nothing and shows no secret.
func (s *Server) linkGet(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	v, err := s.e.OpenLink(r.Context(), tok)
	if err != nil {
		s.gone(w, r, http.StatusNotFound)
		return
	}
	pre := random()
	setCookie(w, cookiePre, pre, 900)
	vw := view{Title: s.t(r, "web.title.register"), Token: tok, CSRF: pre, Back: "/l/" + tok}
	page := "register.html"
	switch v.Purpose {
	case flows.PurposeAdmin:
		page, vw.Title = "admin.html", s.t(r, "web.title.admin")
	case flows.PurposeChange:
		page, vw.Title = "change.html", s.t(r, "web.title.change")
	case flows.PurposeReset:
		page, vw.Title = "reset.html", s.t(r, "web.title.reset")
		rv, err := s.e.ResetOf(r.Context(), v, true) // the link as read above, not again
		if err == nil && rv.Mode != flows.ResetUserChosen {
			page, vw.Title, vw.Kind = "temporary.html", s.t(r, "web.title.temporary"), string(rv.Mode)
		}
		vw.Rules = rv.Rules
	case flows.PurposeQuestions:
		qs, err := s.e.OpenQuestions(r.Context(), tok)
		if err != nil {
			s.gone(w, r, http.StatusNotFound)
			return
		}
		page, vw.Title, vw.Choices = "answer.html", s.t(r, "web.title.answer"), qs
	case flows.PurposePasskey:
		opts, err := s.e.OpenPasskey(r.Context(), tok)
		if err != nil {
			s.gone(w, r, http.StatusNotFound)
			return
		}
		page, vw.Title, vw.Options = "passkey_prove.html", s.t(r, "web.title.passkey_prove"), string(opts)
	}
	s.render(w, r, http.StatusOK, page, vw)
}

func (s *Server) preCSRF(r *http.Request) bool {
	c, err := r.Cookie(cookiePre)
	return err == nil && equal(c.Value, r.PostFormValue("csrf"))
}

// linkPost consumes the link: a registration starts the directory sign-in, a reset sets the
// password.
func (s *Server) linkPost(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if err := r.ParseForm(); err != nil || !s.preCSRF(r) {
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.try_again"), Error: s.t(r, "web.form_expired_link")})
		return
	}
	v, err := s.e.OpenLink(r.Context(), tok)
	if err != nil {
		s.gone(w, r, http.StatusNotFound)
		return
	}
	switch v.Purpose {
	case flows.PurposeReset:
		s.resetPost(w, r, tok, v)
		return
	case flows.PurposeQuestions:
		s.answerPost(w, r, tok)
		return
	case flows.PurposePasskey:
		s.passkeyProve(w, r, tok)
		return
	}
	if s.oidc == nil {
		s.beginPasswordSignIn(w, r, tok, v.Purpose)
		return
	}
	ws, err := s.e.BeginSignIn(r.Context(), tok)
	if err != nil {
		s.gone(w, r, http.StatusNotFound)
		return
	}
	ws.OIDCState, ws.Nonce, ws.Verifier = random(), random(), oauth2.GenerateVerifier()
	if !s.openSession(w, r, &ws) {
		return
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(ws.Nonce), oauth2.S256ChallengeOption(ws.Verifier),
		// prompt=login: Entra asks for credentials now, whatever single sign-on session exists
		// (entra-docs v2-protocols-oidc); the freshness check relies on it
		oauth2.SetAuthURLParam("prompt", "login")}
	if ws.Purpose == flows.PurposeAdmin {
		if c := s.e.AdminAuthContext(); c != "" {
			opts = append(opts, oauth2.SetAuthURLParam("claims", AuthContextClaims(c)))
		}
	}
	u := s.oidc.Config.AuthCodeURL(ws.OIDCState, opts...)
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// resetPost is a reset link's POST; link is the link as linkPost read it.
func (s *Server) resetPost(w http.ResponseWriter, r *http.Request, tok string, link flows.LinkView) {
	if rv, err := s.e.ResetOf(r.Context(), link, false); err == nil && rv.Mode != flows.ResetUserChosen {
		secret, mode, err := s.e.IssueTemporary(r.Context(), tok)
		switch {
		case errors.Is(err, flows.ErrLinkGone):
			s.gone(w, r, http.StatusNotFound)
		case err != nil:
			s.fail(w, r, err)
		default:
			setCookie(w, cookiePre, "", -1)
			s.render(w, r, http.StatusOK, "issued.html", view{Title: s.t(r, "web.title.issued"), Kind: string(mode), Show: flows.EnrolShow{Secret: secret}})
		}
		return
	}
	err := s.e.ResetPasswordOf(r.Context(), link, tok, r.PostFormValue("password"), r.PostFormValue("confirm"))
	var pe *flows.PasswordError
	switch {
	case err == nil:
		setCookie(w, cookiePre, "", -1)
		s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.password_changed"),
			NoticeID: "web.password_changed"})
	case errors.As(err, &pe):
		rv, gerr := s.e.OpenReset(r.Context(), tok)
		if gerr != nil {
			s.render(w, r, http.StatusUnprocessableEntity, "error.html", view{Title: s.t(r, "web.title.password_refused"),
				Error: pe.Text(s.lang(r)) + " " + s.t(r, "web.ask_new_link")})
			return
		}
		v := view{Title: s.t(r, "web.title.reset"), Token: tok, CSRF: r.PostFormValue("csrf"), Rules: rv.Rules}
		s.passwordError(r, &v, pe)
		s.render(w, r, http.StatusUnprocessableEntity, "reset.html", v)
	case errors.Is(err, flows.ErrBlocked):
		setCookie(w, cookiePre, "", -1)
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.paused"),
			Error: s.t(r, "web.too_many_passwords")})
	case errors.Is(err, flows.ErrLinkGone):
		s.gone(w, r, http.StatusNotFound)
	default:
		s.fail(w, r, err)
	}
}

// passwordError says why a new password was refused at its field, named: the second box for a
// mismatch, the first for every other rule.
func (s *Server) passwordError(r *http.Request, v *view, pe *flows.PasswordError) {
	msg := pe.Text(s.lang(r))
	field, label := "password", flows.MsgID("page.reset.new")
	if pe.Rule() == flows.RuleSame {
		field, label = "confirm", "page.reset.again"
	}
	v.Field, v.FieldError = field, msg
	v.Error = s.t(r, "web.field_error", s.t(r, label), msg)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("web request failed", "err", err)
	s.render(w, r, http.StatusInternalServerError, "error.html", view{Title: s.t(r, "web.title.wrong"),
		Error: s.t(r, "web.wrong")})
}

// session loads the browser session named by the cookie.
func (s *Server) session(r *http.Request) (flows.WebState, string, bool) {
	c, err := r.Cookie(cookieSession)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return flows.WebState{}, "", false
	}
	// The current key's MAC first; an old key's (MAC_KEY rotation) only on a miss.
	for _, key := range s.mac.MACs("web", c.Value) {
		ws, err := s.webs.GetWeb(r.Context(), key)
		if err == nil {
			return ws, key, true
		}
		if !errors.Is(err, flows.ErrNotFound) {
			break
		}
	}
	return flows.WebState{}, "", false
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.session(r)
	if !ok || ws.OIDCState == "" || !equal(ws.OIDCState, r.URL.Query().Get("state")) {
		s.gone(w, r, http.StatusBadRequest)
		return
	}
	ws.OIDCState = "" // one callback per sign-in
	if e := r.URL.Query().Get("error"); e != "" {
		s.e.SignInFailed(r.Context(), ws, "provider: "+e)
		_ = s.webs.DeleteWeb(r.Context(), key)
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.signin_failed"), Error: s.t(r, "web.signin_incomplete")})
		return
	}
	tok, err := s.oidc.Config.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(ws.Verifier))
	if err != nil {
		s.log.Warn("sign-in token exchange failed", "err", err)
		s.e.SignInFailed(r.Context(), ws, "token exchange failed")
		s.refuse(w, r, key, s.t(r, "web.signin_exchange"))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.oidc.Verifier.Verify(r.Context(), raw)
	if err != nil || !equal(idt.Nonce, ws.Nonce) {
		s.e.SignInFailed(r.Context(), ws, "id token not verified")
		s.refuse(w, r, key, s.t(r, "web.signin_unverified"))
		return
	}
	si, err := signInOf(idt)
	if err != nil {
		s.refuse(w, r, key, s.t(r, "web.signin_unverified"))
		return
	}
	var party struct {
		AZP string `json:"azp"`
	}
	if err := idt.Claims(&party); err != nil || !s.oidc.forUs(idt.Audience, party.AZP) {
		s.e.SignInFailed(r.Context(), ws, "id token not for this client")
		s.refuse(w, r, key, s.t(r, "web.signin_unverified"))
		return
	}
	switch err := s.e.CompleteSignIn(r.Context(), &ws, si); {
	case errors.Is(err, flows.ErrWrongPersonLinkKept):
		// what happened, and what to do: the link from the chat still works for its owner
		s.refuseTitled(w, r, key, "web.title.wrong_person", s.t(r, "web.signin_other_person_kept"))
		return
	case errors.Is(err, flows.ErrWrongUser):
		s.refuse(w, r, key, s.t(r, "web.signin_other_person"))
		return
	case errors.Is(err, flows.ErrSignInTooOld):
		s.refuse(w, r, key, s.t(r, "web.signin_stale"))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if ws.Purpose == flows.PurposeAdmin {
		s.adminDone(w, r, key, ws, si)
		return
	}
	if err := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, afterSignIn(ws), http.StatusSeeOther)
}

// AuthContextClaims is the OIDC claims request parameter that asks Entra for a Conditional
// Access authentication context in the ID token, as an essential claim (entra-docs
// developer-guide-conditional-access-authentication-context and claims-challenge).
func AuthContextClaims(authContext string) string {
	b, _ := json.Marshal(map[string]any{"id_token": map[string]any{"acrs": map[string]any{"essential": true, "value": authContext}}})
	return string(b)
}

// signInOf reads the claims of a verified Entra v2 ID token the bot relies on: oid, iat, and the
// optional auth_time and acrs (entra-docs id-token-claims-reference, optional-claims-reference).
func signInOf(idt *oidc.IDToken) (flows.SignIn, error) {
	var claims struct {
		OID      string          `json:"oid"`
		AuthTime int64           `json:"auth_time"`
		ACRS     json.RawMessage `json:"acrs"`
	}
	if err := idt.Claims(&claims); err != nil {
		return flows.SignIn{}, err
	}
	si := flows.SignIn{ObjectID: claims.OID, IssuedAt: idt.IssuedAt}
	if claims.AuthTime > 0 {
		si.AuthTime = time.Unix(claims.AuthTime, 0)
	}
	// acrs is a list of context ids; a single string is accepted too
	if len(claims.ACRS) > 0 && json.Unmarshal(claims.ACRS, &si.ACRS) != nil {
		var one string
		if err := json.Unmarshal(claims.ACRS, &one); err != nil {
			return flows.SignIn{}, err
		}
		si.ACRS = []string{one}
	}
	return si, nil
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, key, msg string) {
	s.refuseTitled(w, r, key, "web.title.not_signed_in", msg)
}

// refuseTitled ends the browser session and says why, under title.
func (s *Server) refuseTitled(w http.ResponseWriter, r *http.Request, key string, title flows.MsgID, msg string) {
	_ = s.webs.DeleteWeb(r.Context(), key)
	setCookie(w, cookieSession, "", -1)
	s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, title), Error: msg})
}

// signedIn loads a signed-in browser session and, for POSTs, checks its CSRF token.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (flows.WebState, string, bool) {
	ws, key, ok := s.session(r)
	if !ok || ws.SignedInAt.IsZero() {
		s.gone(w, r, http.StatusForbidden)
		return ws, key, false
	}
	if r.Method == http.MethodPost && !equal(ws.CSRF, r.PostFormValue("csrf")) {
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.try_again"), Error: s.t(r, "web.form_expired_reload")})
		return ws, key, false
	}
	return ws, key, true
}

func (s *Server) menu(w http.ResponseWriter, r *http.Request, ws flows.WebState, status int, notice, errMsg string) {
	s.menuWith(w, r, ws, status, view{Notice: notice, Error: errMsg})
}

// menuWith is the methods page with what v says (a notice, an error, a field's error).
func (s *Server) menuWith(w http.ResponseWriter, r *http.Request, ws flows.WebState, status int, v view) {
	methods, err := s.e.MethodViews(r.Context(), s.lang(r), ws.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.e.RegistrationProgress(r.Context(), ws.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keys, err := s.e.PasskeyViews(r.Context(), ws.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title, v.CSRF, v.Back, v.Registered, v.Enrol, v.Progress, v.Passkeys = s.t(r, "web.title.methods"), ws.CSRF, "/enrol", methods,
		s.e.Enrollers(r.Context()), s.progressText(r, p), keys
	s.render(w, r, status, "enrol.html", v)
}

// fieldLabel is how the page names a field an error is about.
func (s *Server) fieldLabel(r *http.Request, field string, slot int) string {
	switch field {
	case "q":
		return s.t(r, "page.questions.legend", slot+1)
	case "a":
		return s.t(r, "page.questions.answer_n", slot+1)
	case "email", "sms", "voice":
		return s.t(r, flows.MsgID("page.enrol."+field))
	}
	return ""
}

// fieldError fills v with an error that names its field, or a plain error when it names none.
func (s *Server) fieldError(r *http.Request, v *view, err error, field string) {
	msg := s.plainReason(r, err)
	f, slot, ok := flows.InputField(err)
	if !ok {
		v.Error = msg
		return
	}
	if f == "address" {
		f = field
	}
	v.Field, v.Slot, v.FieldError = f, slot, msg
	v.Error = s.t(r, "web.field_error", s.fieldLabel(r, f, slot), msg)
}

func (s *Server) enrolMenu(w http.ResponseWriter, r *http.Request) {
	ws, _, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	s.menu(w, r, ws, http.StatusOK, "", "")
}

func (s *Server) enrolBegin(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	kind := flows.MethodKind(r.PostFormValue("method"))
	if kind == flows.MethodQuestions {
		s.questionsForm(w, r, ws, http.StatusOK, view{})
		return
	}
	address := r.PostFormValue("address")
	show, err := s.e.BeginEnrol(r.Context(), &ws, kind, address)
	if errors.Is(err, flows.ErrBadRequest) {
		// said at the field, with what was typed kept
		v := view{Typed: address}
		s.fieldError(r, &v, err, string(kind))
		s.menuWith(w, r, ws, http.StatusUnprocessableEntity, v)
		return
	}
	s.enrolStarted(w, r, ws, key, kind, show, err)
}

func (s *Server) enrolConfirm(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	kind, err := s.e.ConfirmEnrol(r.Context(), &ws, r.PostFormValue("code"))
	if perr := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); perr != nil {
		s.fail(w, r, perr)
		return
	}
	switch {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, s.t(r, "web.method_done", s.t(r, flows.MsgID("web.the_method."+string(kind)))), "")
	case errors.Is(err, flows.ErrCodeWrong):
		// the same page again: the same key and QR code, or where the code went
		show, serr := s.e.PendingShow(r.Context(), &ws)
		if serr != nil {
			s.fail(w, r, serr)
			return
		}
		s.confirmPage(w, r, ws, http.StatusUnprocessableEntity, show, s.t(r, "web.code_wrong"), "")
	case errors.Is(err, flows.ErrBlocked):
		s.menu(w, r, ws, http.StatusTooManyRequests, "", s.t(r, "web.codes_blocked"))
	case errors.Is(err, flows.ErrBadRequest): // nothing pending (any more): a stale form
		s.menu(w, r, ws, http.StatusBadRequest, "", s.t(r, "web.nothing_to_confirm"))
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) enrolDone(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	p, err := s.e.FinishRegistration(r.Context(), &ws)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_ = s.webs.DeleteWeb(r.Context(), key)
	setCookie(w, cookieSession, "", -1)
	if !p.Met {
		s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.not_enough"), Progress: s.progressText(r, p),
			Notice: s.t(r, "web.need_more", p.Need)})
		return
	}
	s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.all_set"), Progress: s.progressText(r, p),
		NoticeID: "web.all_set"})
}

// plainReason turns a bad-request error into the sentence after its prefix.
func (s *Server) plainReason(r *http.Request, err error) string {
	if msg, ok := flows.InputText(err, s.lang(r)); ok {
		return msg
	}
	return s.t(r, "input.check")
}

// formList reads fields name0, name1, … up to max.
func formList(r *http.Request, name string, max int) []string {
	var out []string
	for i := 0; i < max; i++ {
		v, ok := r.PostForm[name+strconv.Itoa(i)]
		if !ok || len(v) != 1 {
			break
		}
		out = append(out, v[0])
	}
	return out
}

func (s *Server) questionsForm(w http.ResponseWriter, r *http.Request, ws flows.WebState, status int, v view) {
	setup, err := s.e.QuestionChoices(r.Context(), &ws)
	if err != nil {
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.t(r, "web.questions_not_offered"))
		return
	}
	v.Title, v.CSRF, v.Choices, v.Slots = s.t(r, "web.title.questions"), ws.CSRF, setup.Choices, make([]int, setup.Count)
	s.render(w, r, status, "questions.html", v)
}

func (s *Server) enrolQuestions(w http.ResponseWriter, r *http.Request) {
	ws, _, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	qs, answers := formList(r, "q", 5), formList(r, "a", 5)
	err := s.e.RegisterQuestions(r.Context(), &ws, qs, answers)
	switch {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, s.t(r, "web.questions_done"), "")
	case errors.Is(err, flows.ErrBadRequest):
		// the error names its question or answer; everything else stays as typed
		v := view{Picked: qs, Answers: slices.Clone(answers)}
		s.fieldError(r, &v, err, "")
		if v.Field == "a" && v.Slot < len(v.Answers) {
			v.Answers[v.Slot] = ""
		}
		s.questionsForm(w, r, ws, http.StatusUnprocessableEntity, v)
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) answerPost(w http.ResponseWriter, r *http.Request, tok string) {
	res, err := s.e.AnswerQuestionsOnPage(r.Context(), tok, formList(r, "a", 5))
	s.proofAnswered(w, r, res, err, "web.answers_right", "web.title.not_right", "web.answers_wrong")
}

// proofAnswered answers a proof posted on its own one-time page (the security questions, a
// passkey): the recovery page carries on where it asked for it (recover.go); otherwise the
// page says how it went and sends the person back to the chat.
func (s *Server) proofAnswered(w http.ResponseWriter, r *http.Request, res flows.PageResult, err error, right, wrongTitle, wrong flows.MsgID) {
	setCookie(w, cookiePre, "", -1)
	if err == nil && res.Recovery {
		s.pageAnswered(w, r, res)
		return
	}
	switch {
	case errors.Is(err, flows.ErrLinkGone):
		s.gone(w, r, http.StatusNotFound)
	case errors.Is(err, flows.ErrBlocked):
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.not_now"), Error: s.t(r, "web.answers_blocked")})
	case err != nil:
		s.fail(w, r, err)
	case res.OK:
		s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.thanks"), Notice: s.t(r, right)})
	default:
		s.render(w, r, http.StatusUnprocessableEntity, "error.html", view{Title: s.t(r, wrongTitle), Error: s.t(r, wrong)})
	}
}

func (s *Server) enrolReconfirm(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	kind := flows.MethodKind(r.PostFormValue("method"))
	show, err := s.e.BeginReconfirm(r.Context(), &ws, kind)
	s.enrolStarted(w, r, ws, key, kind, show, err)
}

// enrolStarted stores the pending enrolment and shows the confirmation form, or the error.
func (s *Server) enrolStarted(w http.ResponseWriter, r *http.Request, ws flows.WebState, key string, kind flows.MethodKind, show flows.EnrolShow, err error) bool {
	switch {
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
		return false
	case errors.Is(err, flows.ErrLimit):
		s.menu(w, r, ws, http.StatusTooManyRequests, "", s.t(r, "web.too_many_codes"))
		return false
	case errors.Is(err, flows.ErrBudget):
		s.menu(w, r, ws, http.StatusServiceUnavailable, "", s.t(r, "web.phone_paused"))
		return false
	case errors.Is(err, flows.ErrBadRequest):
		s.menu(w, r, ws, http.StatusUnprocessableEntity, "", s.plainReason(r, err))
		return false
	case err != nil:
		s.fail(w, r, err)
		return false
	}
	if err := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); err != nil {
		s.fail(w, r, err)
		return false
	}
	s.confirmPage(w, r, ws, http.StatusOK, show, "", "")
	return true
}

// confirmPage asks for the code of the pending registration; it offers a new code (for a code
// that was sent) and the way back to the methods.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request, ws flows.WebState, status int, show flows.EnrolShow, errMsg, notice string) {
	v := view{Title: s.t(r, "web.title.confirm"), CSRF: ws.CSRF, Show: show, Kind: string(ws.PendingKind), Error: errMsg, Notice: notice}
	if strings.HasPrefix(show.QR, "data:image/png;base64,") {
		v.QR = template.URL(show.QR)
	}
	s.render(w, r, status, "confirm.html", v)
}

// enrolResend sends a new code to the address or number being registered: a send within the
// send limits, never a failed attempt.
func (s *Server) enrolResend(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	show, err := s.e.ResendEnrol(r.Context(), &ws)
	switch {
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
	case errors.Is(err, flows.ErrLimit):
		show, _ = s.e.PendingShow(r.Context(), &ws)
		s.confirmPage(w, r, ws, http.StatusTooManyRequests, show, s.t(r, "web.too_many_codes"), "")
	case errors.Is(err, flows.ErrBudget):
		show, _ = s.e.PendingShow(r.Context(), &ws)
		s.confirmPage(w, r, ws, http.StatusServiceUnavailable, show, s.t(r, "web.phone_paused"), "")
	case errors.Is(err, flows.ErrBadRequest): // nothing sent is pending (any more): a stale form
		s.menu(w, r, ws, http.StatusBadRequest, "", s.t(r, "web.nothing_to_confirm"))
	case err != nil:
		s.fail(w, r, err)
	default:
		if err := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); err != nil {
			s.fail(w, r, err)
			return
		}
		s.confirmPage(w, r, ws, http.StatusOK, show, "", s.t(r, "web.code_resent"))
	}
}

// enrolCancel drops the pending registration and goes back to the methods.
func (s *Server) enrolCancel(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	s.e.CancelEnrol(&ws)
	if err := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.menu(w, r, ws, http.StatusOK, "", "")
}

func (s *Server) enrolRemove(w http.ResponseWriter, r *http.Request) {
	ws, _, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	kind := flows.MethodKind(r.PostFormValue("method"))
	if r.PostFormValue("confirm") != "yes" && s.askBeforeRemoving(w, r, ws, kind, view{Kind: string(kind)}) {
		return
	}
	switch err := s.e.RemoveMethod(r.Context(), &ws, kind); {
	case err == nil:
		s.menu(w, r, ws, http.StatusOK, s.t(r, "web.method_removed", s.t(r, flows.MsgID("web.the_method."+string(kind)))), "")
	case errors.Is(err, flows.ErrNeedSignIn):
		s.gone(w, r, http.StatusForbidden)
	default:
		s.fail(w, r, err)
	}
}

// askBeforeRemoving shows the confirmation page when removing kind would leave fewer methods
// than the policy requires, and says how many are needed; false when no question is needed.
// v carries what the removal form posts again (the method, or the passkey's id).
func (s *Server) askBeforeRemoving(w http.ResponseWriter, r *http.Request, ws flows.WebState, kind flows.MethodKind, v view) bool {
	p, err := s.e.ProgressWithout(r.Context(), ws.UserID, kind)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if p.Met {
		return false
	}
	label := s.t(r, flows.MsgID("web.the_method."+string(kind)))
	v.Title, v.CSRF, v.Progress = s.t(r, "web.title.remove"), ws.CSRF, s.t(r, "web.remove_below", label, p.Need, p.Have)
	s.render(w, r, http.StatusOK, "remove.html", v)
	return true
}

// adminDone carries out a bot admin's action after the fresh sign-in; the browser session ends.
func (s *Server) adminDone(w http.ResponseWriter, r *http.Request, key string, ws flows.WebState, si flows.SignIn) {
	_ = s.webs.DeleteWeb(r.Context(), key)
	setCookie(w, cookieSession, "", -1)
	msg, err := s.e.AdminConfirm(r.Context(), &ws, si)
	switch {
	case errors.Is(err, flows.ErrNeedMFA):
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.mfa_needed"),
			Error: s.t(r, "web.mfa_needed")})
	case errors.Is(err, flows.ErrRefused), errors.Is(err, flows.ErrLinkGone):
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.not_done"), Error: s.t(r, "web.not_possible")})
	case err != nil:
		s.fail(w, r, err)
	default:
		s.render(w, r, http.StatusOK, "done.html", view{Title: s.t(r, "web.title.done"), Notice: msg})
	}
}

// beginPasswordSignIn opens the browser session of a deployment without Entra: the person signs
// in with their current directory password (an AD bind as them).
func (s *Server) beginPasswordSignIn(w http.ResponseWriter, r *http.Request, tok string, p flows.Purpose) {
	if (p != flows.PurposeRegister && p != flows.PurposeChange) || !s.e.PasswordSignInAvailable() {
		s.render(w, r, http.StatusForbidden, "error.html", view{Title: s.t(r, "web.title.not_available"),
			Error: s.t(r, "web.no_entra")})
		return
	}
	ws, err := s.e.BeginSignIn(r.Context(), tok)
	if err != nil {
		s.gone(w, r, http.StatusNotFound)
		return
	}
	if !s.openSession(w, r, &ws) {
		return
	}
	s.render(w, r, http.StatusOK, "signin.html", view{Title: s.t(r, "web.title.signin"), CSRF: ws.CSRF})
}

// openSession stores a new browser session with its CSRF token and sets its cookie (the
// pre-session cookie of the link page is dropped); false when it could not be stored.
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, ws *flows.WebState) bool {
	ws.CSRF = random()
	cookie := random()
	if err := s.webs.PutWeb(r.Context(), s.mac.MAC("web", cookie), *ws, s.e.Now()); err != nil {
		s.fail(w, r, err)
		return false
	}
	setCookie(w, cookieSession, cookie, int(flows.WebLifetime.Seconds()))
	setCookie(w, cookiePre, "", -1)
	return true
}

// passwordSignIn checks the person's current directory password (counted: at most three wrong
// ones a day) and then opens the registration page.
func (s *Server) passwordSignIn(w http.ResponseWriter, r *http.Request) {
	ws, key, ok := s.session(r)
	if !ok || !ws.SignedInAt.IsZero() || r.ParseForm() != nil || !equal(ws.CSRF, r.PostFormValue("csrf")) {
		s.gone(w, r, http.StatusForbidden)
		return
	}
	err := s.e.PasswordSignIn(r.Context(), &ws, r.PostFormValue("password"))
	switch {
	case err == nil:
		if err := s.webs.PutWeb(r.Context(), key, ws, s.e.Now()); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, afterSignIn(ws), http.StatusSeeOther)
	case errors.Is(err, flows.ErrWrongPassword):
		s.render(w, r, http.StatusUnauthorized, "signin.html", view{Title: s.t(r, "web.title.signin"), CSRF: ws.CSRF,
			Error: s.t(r, "web.password_wrong")})
	case errors.Is(err, flows.ErrLockoutNear):
		s.render(w, r, http.StatusTooManyRequests, "signin.html", view{Title: s.t(r, "web.title.signin"), CSRF: ws.CSRF, Error: s.lockoutNear(r, err)})
	case errors.Is(err, flows.ErrTooManySignIns):
		s.refuse(w, r, key, s.t(r, "web.signins_paused"))
	case errors.Is(err, flows.ErrAccountLocked):
		s.refuse(w, r, key, s.t(r, "web.account_locked"))
	case errors.Is(err, flows.ErrMustChangePassword):
		s.refuse(w, r, key, s.t(r, "web.must_change"))
	case errors.Is(err, flows.ErrWrongUser):
		s.refuse(w, r, key, s.t(r, "web.someone_else"))
	default:
		s.fail(w, r, err)
	}
}

// lockoutNear says plainly why the page did not try a password: it never makes the directory
// lock the account.
func (s *Server) lockoutNear(r *http.Request, err error) string {
	var ln *flows.LockoutNearError
	if !errors.As(err, &ln) || ln.Threshold == 0 {
		return s.t(r, "web.lockout_unknown")
	}
	if ln.ClearsIn > 0 {
		return s.t(r, "web.lockout_near_wait", ln.Failed, ln.Threshold, int(ln.ClearsIn.Minutes())+1)
	}
	return s.t(r, "web.lockout_near", ln.Failed, ln.Threshold)
}

// afterSignIn is the page a signed-in browser session goes on to: the change form for a
// password change, the methods otherwise.
func afterSignIn(ws flows.WebState) string {
	if ws.Purpose == flows.PurposeChange {
		return "/change"
	}
	return "/enrol"
}
