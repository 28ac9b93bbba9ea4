package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// The recovery page at /recover: the door for people who cannot reach chat. The engine does
// the judging (flows.Engine.Recover); this file adds what a public page needs: its own
// browser cookie and CSRF token, per-address and per-network limits, a global budget of codes
// sent, and a small proof-of-work the page's own script solves, all without a third party.

//go:embed recoverpages/*.html
var recoverAssets embed.FS

var recoverPages = template.Must(template.New("").Funcs(template.FuncMap{
	"msg": func(id string, args ...any) string { return flows.Text("en", flows.MsgID(id), args...) },
	"t":   func(id string, args ...any) string { return flows.Text("en", flows.MsgID(id), args...) },
}).ParseFS(assets, "templates/layout.html"))

func init() { template.Must(recoverPages.ParseFS(recoverAssets, "recoverpages/*.html")) }

var recoverByLang sync.Map // language → *template.Template

// recoverPagesIn is the recovery page speaking lang, as pagesIn is for the other pages.
func recoverPagesIn(lang string) *template.Template {
	if t, ok := recoverByLang.Load(lang); ok {
		return t.(*template.Template)
	}
	t := template.Must(recoverPages.Clone()).Funcs(template.FuncMap{
		"msg": func(id string, args ...any) string { return flows.Text(lang, flows.MsgID(id), args...) },
		"t":   func(id string, args ...any) string { return flows.Text(lang, flows.MsgID(id), args...) },
	})
	recoverByLang.Store(lang, t)
	return t
}

// cookieRecover holds the browser's own random key and the name typed (never a factor: the
// account is proven by the codes).
const cookieRecover = "__Host-resetbot-recover"

// RecoverOptions turn the recovery page on and set its abuse limits.
type RecoverOptions struct {
	Limiter flows.RateLimiter // nil: no recovery page
	// requests per client address, per network (/24 for IPv4, /64 for IPv6), and per address
	// without a solved challenge (browsers without JavaScript), each per Window
	PerAddress, PerNetwork, NoScriptPerAddress int
	Window                                     time.Duration
	// codes the page may ask to send per hour, for everyone together
	SendsPerHour int
	// leading zero bits of the proof-of-work (about a second in a browser at the default)
	ChallengeBits int
	// proxies in front of the bot whose X-Forwarded-For entries are trusted (0: none)
	TrustedHops int
}

// Defaults of the recovery page's limits.
const (
	DefaultRecoverPerAddress   = 30
	DefaultRecoverPerNetwork   = 120
	DefaultRecoverNoScript     = 10
	DefaultRecoverWindow       = 10 * time.Minute
	DefaultRecoverSendsPerHour = 300
	DefaultChallengeBits       = 15
	challengeTTL               = 15 * time.Minute
)

// WithRecovery turns the recovery page on.
func (s *Server) WithRecovery(o RecoverOptions) *Server {
	if o.Window <= 0 {
		o.Window = DefaultRecoverWindow
	}
	s.rec = &o
	return s
}

type recoverPage struct {
	Title, Error, Notice string
	CSRF                 string
	Challenge            string
	Bits                 int
	Stage                string
	Sent                 string
	Methods              []flows.RecoverMethod
	Method               flows.MethodKind // the await stage: the method whose code is asked for
	Messages             []string
	Link                 string
	// the language of the page and its switcher (layout.html)
	Lang  string
	Back  string
	Langs []langChoice
}

func (s *Server) recoverRoutes(mux *http.ServeMux) {
	if s.rec == nil || s.rec.Limiter == nil {
		return
	}
	mux.HandleFunc("GET /recover", s.recoverGet)
	mux.HandleFunc("POST /recover", s.recoverPost)
}

// browserOf reads the recovery cookie: the browser's key and the name typed, if any.
func browserOf(r *http.Request) (browser, name string, ok bool) {
	c, err := r.Cookie(cookieRecover)
	if err != nil || len(c.Value) > 600 {
		return "", "", false
	}
	b, n, _ := strings.Cut(c.Value, ".")
	raw, err := base64.RawURLEncoding.DecodeString(n)
	if len(b) < 40 || err != nil {
		return "", "", false
	}
	return b, string(raw), true
}

func setRecoverCookie(w http.ResponseWriter, browser, name string) {
	setCookie(w, cookieRecover, browser+"."+base64.RawURLEncoding.EncodeToString([]byte(name)), int(flows.SessionLifetime.Seconds()))
}

func (s *Server) recoverCSRF(browser string) string { return s.mac.MAC("recover-csrf", browser) }

// recoverGet is the start page, with a new browser key, so a reload starts over; with
// ?continue (back from the security questions' page) it shows where the person is.
func (s *Server) recoverGet(w http.ResponseWriter, r *http.Request) {
	if c := r.URL.Query().Get("continue"); c != "" {
		if browser, name, ok := browserOf(r); ok && name != "" {
			errMsg := ""
			if c == "wrong" {
				errMsg = s.t(r, flows.MsgRecoverAnswersWrong)
			}
			s.recoverStep(w, r, browser, name, flows.RecoverInput{Action: flows.RecoverShow}, "", http.StatusOK, errMsg)
			return
		}
	}
	b := random()
	setRecoverCookie(w, b, "")
	s.renderRecover(w, r, http.StatusOK, b, recoverPage{Stage: "start"})
}

func (s *Server) renderRecover(w http.ResponseWriter, r *http.Request, status int, browser string, p recoverPage) {
	if p.Title == "" {
		p.Title = s.t(r, flows.MsgRecoverTitle)
	}
	p.CSRF = s.recoverCSRF(browser)
	p.Challenge, p.Bits = s.newChallenge(), s.bits()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	p.Lang, p.Back = s.lang(r), "/recover"
	p.Langs = langsFor(p.Lang)
	w.Header().Set("Content-Language", p.Lang)
	w.Header().Add("Vary", "Accept-Language")
	if err := recoverPagesIn(p.Lang).ExecuteTemplate(w, "recover.html", p); err != nil {
		s.log.Error("render", "err", err, "page", "recover.html")
	}
}

func (s *Server) bits() int {
	if s.rec.ChallengeBits <= 0 {
		return DefaultChallengeBits
	}
	return s.rec.ChallengeBits
}

// newChallenge is "expiry.nonce.mac": the server keeps nothing until it is used.
func (s *Server) newChallenge() string {
	exp := strconv.FormatInt(s.e.Now().Add(challengeTTL).Unix(), 10)
	n := random()[:22]
	return exp + "." + n + "." + s.mac.MAC("challenge", exp, n, strconv.Itoa(s.bits()))[:22]
}

// solved checks a solution "challenge|counter": the challenge is ours and live, and
// SHA-256(challenge ":" counter) starts with the required zero bits. It returns the nonce,
// which the limiter marks used.
func (s *Server) solved(v string) (string, bool) {
	ch, n, ok := strings.Cut(v, "|")
	parts := strings.Split(ch, ".")
	if !ok || len(parts) != 3 || len(n) == 0 || len(n) > 20 || strings.Trim(n, "0123456789") != "" {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || !s.e.Now().Before(time.Unix(exp, 0)) {
		return "", false
	}
	want := s.mac.MAC("challenge", parts[0], parts[1], strconv.Itoa(s.bits()))
	if len(want) < 22 || !equal(want[:22], parts[2]) {
		return "", false
	}
	return parts[1], LeadingZeroBits(sha256.Sum256([]byte(ch+":"+n))) >= s.bits()
}

// LeadingZeroBits counts the zero bits a hash starts with.
func LeadingZeroBits(h [32]byte) int {
	n := 0
	for _, b := range h {
		if b != 0 {
			for b&0x80 == 0 {
				n++
				b <<= 1
			}
			return n
		}
		n += 8
	}
	return n
}

// ClientAddr is the address a request came from: the connection's peer, or, behind hops
// trusted proxies, the X-Forwarded-For entry the outermost of them added. Entries further left
// are the client's own say and are never trusted.
func ClientAddr(r *http.Request, hops int) netip.Addr {
	peer := r.RemoteAddr
	if h, _, err := net.SplitHostPort(peer); err == nil {
		peer = h
	}
	addr, _ := netip.ParseAddr(peer)
	if hops <= 0 {
		return addr.Unmap()
	}
	var list []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, p := range strings.Split(v, ",") {
			list = append(list, strings.TrimSpace(p))
		}
	}
	if len(list) < hops {
		return addr.Unmap()
	}
	if a, err := netip.ParseAddr(list[len(list)-hops]); err == nil {
		return a.Unmap()
	}
	return addr.Unmap()
}

// Network is the /24 (IPv4) or /64 (IPv6) an address belongs to.
func Network(a netip.Addr) string {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return "unknown"
	}
	return p.String()
}

// recoverPost runs one step of the recovery page behind the abuse controls.
func (s *Server) recoverPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	browser, name, ok := browserOf(r)
	if err := r.ParseForm(); err != nil || !ok || !equal(s.recoverCSRF(browser), r.PostFormValue("csrf")) {
		s.e.AuditRecoverRefused(ctx, ClientAddr(r, s.rec.TrustedHops).String(), "form_expired")
		b := random()
		setRecoverCookie(w, b, "")
		s.renderRecover(w, r, http.StatusForbidden, b, recoverPage{Stage: "start", Error: s.t(r, flows.MsgRecoverStartOver)})
		return
	}
	do := r.PostFormValue("do")
	from := ClientAddr(r, s.rec.TrustedHops)
	if refused := s.recoverLimits(r, from, do); refused != "" {
		s.e.AuditRecoverRefused(ctx, from.String(), refused)
		id := flows.MsgRecoverSlow
		if refused == "send_budget" {
			id = flows.MsgRecoverLimit
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(s.rec.Window.Seconds())))
		stage := "start"
		if name != "" {
			stage = ""
		}
		s.recoverStep(w, r, browser, name, flows.RecoverInput{Action: flows.RecoverShow}, stage, http.StatusTooManyRequests, s.t(r, id))
		return
	}
	in := flows.RecoverInput{Browser: browser, Name: name, Locale: s.lang(r), From: from.String()}
	switch do {
	case "start":
		in.Action, in.Name, in.Unlock = flows.RecoverStart, strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("flow") == "unlock"
		if in.Name == "" || len(in.Name) > flows.MaxRecoverName {
			s.renderRecover(w, r, http.StatusUnprocessableEntity, browser, recoverPage{Stage: "start", Error: s.t(r, flows.MsgRecoverName) + "?"})
			return
		}
		setRecoverCookie(w, browser, in.Name)
	case "email", "phone":
		in.Action, in.Arg = flows.RecoverSend, do
	case "code":
		in.Action, in.Code = flows.RecoverCode, r.PostFormValue("code")
	case "pick":
		in.Action, in.Arg = flows.RecoverPick, r.PostFormValue("method")
	case "resend":
		in.Action = flows.RecoverResend
	case "back":
		in.Action = flows.RecoverBack
	default:
		in.Action = flows.RecoverShow
	}
	if in.Name == "" {
		s.renderRecover(w, r, http.StatusOK, browser, recoverPage{Stage: "start", Error: s.t(r, flows.MsgRecoverStartOver)})
		return
	}
	s.recoverStep(w, r, browser, in.Name, in, "", http.StatusOK, "")
}

// recoverStep runs in through the engine and renders where the person is.
func (s *Server) recoverStep(w http.ResponseWriter, r *http.Request, browser, name string, in flows.RecoverInput, stage string, status int, errMsg string) {
	if stage == "start" {
		s.renderRecover(w, r, status, browser, recoverPage{Stage: "start", Error: errMsg})
		return
	}
	in.Browser, in.Name, in.Locale = browser, name, s.lang(r)
	v, err := s.e.Recover(r.Context(), in)
	switch {
	case errors.Is(err, flows.ErrBadRequest):
		s.renderRecover(w, r, http.StatusUnprocessableEntity, browser, recoverPage{Stage: "start", Error: s.t(r, flows.MsgRecoverStartOver)})
		return
	case err != nil:
		s.log.Error("recovery step failed", "err", err)
		s.renderRecover(w, r, http.StatusServiceUnavailable, browser, recoverPage{Stage: "start", Error: s.t(r, flows.MsgRecoverTrouble)})
		return
	}
	p := recoverPage{Error: errMsg, Sent: v.Sent, Methods: v.Methods, Method: v.Method, Messages: v.Messages}
	switch {
	case v.Busy:
		p.Error = s.t(r, flows.MsgRecoverBusy)
	case v.Limit:
		p.Error = s.t(r, flows.MsgRecoverLimit)
	case v.Refused && len(v.Messages) == 0:
		p.Error = s.t(r, flows.MsgRecoverRefused)
	}
	switch v.Stage {
	case flows.RecoverFirst:
		p.Stage = "first"
	case flows.RecoverCodeSent:
		p.Stage = "sent"
	case flows.RecoverMore:
		p.Stage = "more"
	case flows.RecoverAwait:
		p.Stage = "await"
	case flows.RecoverLink, flows.RecoverDone:
		p.Stage = "done"
		p.Link = localPath(v.Link)
		if v.Stage == flows.RecoverLink && len(v.Messages) == 0 && p.Link != "" {
			// the same new-password (or questions) page the chat links to
			http.Redirect(w, r, p.Link, http.StatusSeeOther)
			return
		}
	default:
		p.Stage, p.Error = "start", s.t(r, flows.MsgRecoverStartOver)
	}
	if status == http.StatusOK && p.Error != "" && v.Refused {
		status = http.StatusUnprocessableEntity
	}
	s.renderRecover(w, r, status, browser, p)
}

// pageAnswered takes the person back from a proof's own page (the security questions, a
// passkey) to the recovery page: to the new-password page when the proof completed the
// verification, else to where they are.
func (s *Server) pageAnswered(w http.ResponseWriter, r *http.Request, res flows.PageResult) {
	switch {
	case localPath(res.Link) != "":
		http.Redirect(w, r, localPath(res.Link), http.StatusSeeOther)
	case res.OK:
		http.Redirect(w, r, "/recover?continue=1", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/recover?continue=wrong", http.StatusSeeOther)
	}
}

// localPath keeps only the path of a link to the bot's own pages.
func localPath(link string) string {
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/l/") {
		return ""
	}
	return u.Path
}

// recoverLimits counts the request against its buckets; it returns what refused it, or "".
func (s *Server) recoverLimits(r *http.Request, from netip.Addr, do string) string {
	o := s.rec
	hits := []flows.RateHit{
		{Key: "a:" + from.String(), Max: o.PerAddress, Window: o.Window},
		{Key: "n:" + Network(from), Max: o.PerNetwork, Window: o.Window},
	}
	names := []string{"per_address", "per_network"}
	nonce, ok := s.solved(r.PostFormValue("pow"))
	if !ok {
		nonce = ""
		hits = append(hits, flows.RateHit{Key: "s:" + from.String(), Max: o.NoScriptPerAddress, Window: o.Window})
		names = append(names, "no_script")
	}
	if do == "email" || do == "phone" || do == "resend" {
		hits = append(hits, flows.RateHit{Key: "sends", Max: o.SendsPerHour, Window: time.Hour})
		names = append(names, "send_budget")
	}
	i, err := o.Limiter.Take(r.Context(), s.e.Now(), nonce, challengeTTL, hits)
	switch {
	case err != nil:
		s.log.Error("recovery limits unavailable", "err", err)
		return "limiter unavailable"
	case i < 0:
		return ""
	case i >= len(names):
		return "challenge_reused"
	}
	return names[i]
}
