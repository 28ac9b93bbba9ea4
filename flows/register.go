package flows

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"
)

// Enroller registers a method on the web page, after a fresh directory sign-in.
type Enroller interface {
	Kind() MethodKind
	// BeginEnrol starts registering with what the user entered (an address, or nothing).
	BeginEnrol(ctx context.Context, a Account, input string, pol Policy, now time.Time) (PendingEnrol, error)
	// ConfirmEnrol checks the code that proves the method works.
	ConfirmEnrol(a Account, p PendingEnrol, code string, now time.Time) (Registered, int64, bool)
}

// PendingShower shows a pending registration again after a wrong code (the same key, or where
// the code went), without a new secret or a new code.
type PendingShower interface {
	ShowPending(a Account, p PendingEnrol) (EnrolShow, error)
}

// PendingEnrol is a registration waiting for its first code.
type PendingEnrol struct {
	Secret    string // TOTP secret
	Address   string // email address
	MAC       string // MAC of the code sent
	ExpiresAt time.Time
	Show      EnrolShow
	Send      func(ctx context.Context) error
}

// EnrolShow is what the page shows after the POST that began an enrolment.
type EnrolShow struct {
	Secret string // TOTP manual-entry secret
	URL    string // otpauth URL
	QR     string // data: URI
	Masked string // masked address a code went to
}

// SignIn is a verified directory sign-in from the web page. Entra v2 ID tokens carry auth_time
// and acrs only when the app registration adds them as optional claims (entra-docs
// optional-claims-reference), and never amr (access-token-claims-reference: v1.0 only).
type SignIn struct {
	ObjectID string
	AuthTime time.Time // auth_time when the registration has the optional claim, else zero
	IssuedAt time.Time // iat, always present
	// ACRS lists the Conditional Access authentication contexts the sign-in satisfied.
	ACRS []string
}

// WebLifetime bounds a browser session on the bot's pages.
const WebLifetime = 15 * time.Minute

// ErrSignInTooOld: the directory sign-in is older than allowed.
var ErrSignInTooOld = errors.New("sign-in too old")

// ErrWrongUser: the signed-in directory user is not the chat user's.
var ErrWrongUser = errors.New("signed-in user differs from the chat user")

// ErrNeedSignIn: the browser session has no fresh sign-in.
var ErrNeedSignIn = errors.New("fresh sign-in required")

// ErrCodeWrong: an enrolment code did not match.
var ErrCodeWrong = errors.New("code wrong")

// startRegister gives an eligible user a registration link.
func (e *Engine) startRegister(s *step) {
	sess := e.newSession(s, FlowRegister, StateRegisterLink)
	link, err := e.grantLink(s, sess, PurposeRegister)
	if err != nil {
		s.say(MsgTrouble, s.pol.HelpdeskURL)
		return
	}
	s.audit("link_issued", "ok", string(PurposeRegister))
	s.say(MsgRegisterLink)
	s.replies[len(s.replies)-1].Link = link
}

// BeginSignIn consumes a registration link (POST) and opens a browser session for it.
func (e *Engine) BeginSignIn(ctx context.Context, token string) (WebState, error) {
	purpose := PurposeRegister
	if v, err := e.OpenLink(ctx, token); err == nil && (v.Purpose == PurposeAdmin || v.Purpose == PurposeChange) {
		purpose = v.Purpose
	}
	v, err := e.consumeLink(ctx, token, purpose, func(s *Session) *Session {
		n := *s
		n.Version++
		return &n
	})
	if err != nil {
		return WebState{}, err
	}
	now := e.d.Clock.Now()
	exp := now.Add(WebLifetime)
	return WebState{UserID: v.UserID, ChatKey: v.Session.Chat.Key(), Purpose: purpose, Action: v.Session.Action,
		SessionID: v.Session.ID, StartedAt: now, ExpiresAt: exp,
		LinkMAC: v.mac, LinkExpiresAt: v.Record.ExpiresAt, LinkVersion: v.Session.Version + 1}, nil
}

// ErrWrongPersonLinkKept: the wrong person signed in, and the link was given back for the
// right one (it is still an ErrWrongUser).
var ErrWrongPersonLinkKept = fmt.Errorf("%w; the link was given back", ErrWrongUser)

// giveLinkBack makes the link that opened ws work again, until its own expiry and only while
// its session is as the sign-in left it (no newer link, no step since) and no newer link of
// its purpose was given in another chat of the person's: someone who signed in
// as the wrong person used it up without it doing anything.
func (e *Engine) giveLinkBack(ctx context.Context, ws *WebState) bool {
	now := e.d.Clock.Now()
	if ws.LinkMAC == "" || !now.Before(ws.LinkExpiresAt) {
		return false
	}
	snap, err := e.d.Sessions.Load(ctx, ws.UserID, ws.ChatKey)
	sess := snap.Session
	if err != nil || sess == nil || sess.ID != ws.SessionID || sess.Version != ws.LinkVersion || sess.Expired(now) {
		return false
	}
	next := *sess
	next.Version = sess.Version + 1
	out, err := e.d.Sessions.Commit(ctx, Commit{Subject: ws.UserID, ChatKey: ws.ChatKey, ExpectVersion: sess.Version, Now: now,
		Session: &next, Link: &LinkGrant{Purpose: ws.Purpose, MAC: ws.LinkMAC, ExpiresAt: ws.LinkExpiresAt, IfFree: true}})
	if err != nil || out.Status != Committed {
		e.d.Log.WarnContext(ctx, "the link could not be given back", "err", err, "status", out.Status)
		return false
	}
	return true
}

// CompleteSignIn accepts a directory sign-in only for the chat user's own account, and only
// when it is recent. It pins the chat identity to the directory user.
func (e *Engine) CompleteSignIn(ctx context.Context, ws *WebState, si SignIn) error {
	now := e.d.Clock.Now()
	ev := AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: "signin"}
	if subtle.ConstantTimeCompare([]byte(si.ObjectID), []byte(ws.UserID)) != 1 {
		ev.Outcome, ev.Reason = "refused", "oid_mismatch"
		e.audit(ctx, ev)
		if e.giveLinkBack(ctx, ws) {
			return ErrWrongPersonLinkKept
		}
		return ErrWrongUser
	}
	if !fresh(si, ws.StartedAt, now, e.o.MaxSignInAge) {
		ev.Outcome, ev.Reason = "refused", "auth_time"
		e.audit(ctx, ev)
		return ErrSignInTooOld
	}
	return e.pinSignIn(ctx, ws, ev)
}

// signInSkew is the clock difference between Entra and the bot that is tolerated.
const signInSkew = time.Minute

// fresh reports whether a sign-in authenticated the person after the bot asked for it (started)
// and at most maxAge ago. With the auth_time optional claim that is the authentication instant.
// Without it (Entra's default ID token) the bot relies on what it asked for: prompt=login makes
// Entra demand credentials for this very request (no single sign-on), and the nonce ties the
// token to the request the browser session made at started, so the token's iat, which follows
// the credentials, is the authentication instant within the time the person took to type.
func fresh(si SignIn, started, now time.Time, maxAge time.Duration) bool {
	at := si.AuthTime
	if at.IsZero() {
		at = si.IssuedAt
	}
	if at.IsZero() || now.Sub(at) > maxAge || at.After(now.Add(signInSkew)) {
		return false
	}
	return started.IsZero() || !at.Before(started.Add(-signInSkew))
}

// SignInFailed audits a directory sign-in that did not complete (the provider refused, was
// unreachable, or its answer could not be verified).
func (e *Engine) SignInFailed(ctx context.Context, ws WebState, reason string) {
	e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: ws.ChatKey, Subject: ws.UserID, Action: "signin",
		Outcome: "failed", Reason: reason})
}

// pinSignIn pins the chat identity to the signed-in directory user and marks the browser
// session signed in.
func (e *Engine) pinSignIn(ctx context.Context, ws *WebState, ev AuditEvent) error {
	if err := e.d.Enrollments.Pin(ctx, ws.ChatKey, ws.UserID); err != nil {
		ev.Outcome, ev.Reason = "refused", "pin_mismatch"
		e.audit(ctx, ev)
		return ErrWrongUser
	}
	e.Forget(ws.ChatKey)
	ws.SignedInAt = e.d.Clock.Now()
	ev.Outcome = "ok"
	e.audit(ctx, ev)
	return nil
}

func (e *Engine) signedIn(ws *WebState) error {
	now := e.d.Clock.Now()
	if ws.SignedInAt.IsZero() || now.Sub(ws.SignedInAt) > WebLifetime || !now.Before(ws.ExpiresAt) {
		return ErrNeedSignIn
	}
	return nil
}

// Enrollers lists the methods that can be registered on the page under the current policy.
func (e *Engine) Enrollers(ctx context.Context) []MethodKind {
	pol := e.policyOrDefault(ctx, "enrol menu") // BeginEnrol checks the real policy
	var out []MethodKind
	for _, m := range AllMethods {
		_, enrols := e.methods[m].(Enroller)
		_, questions := e.methods[m].(QuestionRegistrar)
		_, passkeys := e.methods[m].(PasskeyCeremonies)
		if (enrols || questions || passkeys) && pol.Allows(m) {
			out = append(out, m)
		}
	}
	return out
}

// RegisteredMethods returns the user's registered methods for display (masked).
func (e *Engine) RegisteredMethods(ctx context.Context, locale, userID string) ([]string, error) {
	en, err := e.d.Enrollments.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	return en.Described(locale), nil
}

// BeginEnrol starts registering kind for the signed-in user; ws keeps the pending state.
func (e *Engine) BeginEnrol(ctx context.Context, ws *WebState, kind MethodKind, input string) (EnrolShow, error) {
	if err := e.signedIn(ws); err != nil {
		return EnrolShow{}, err
	}
	en, ok := e.methods[kind].(Enroller)
	pol, err := e.policy(ctx)
	if err != nil {
		return EnrolShow{}, err
	}
	if !ok || !pol.Allows(kind) {
		return EnrolShow{}, ErrBadRequest
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return EnrolShow{}, fmt.Errorf("flows: enrol lookup: %w", err)
	}
	now := e.d.Clock.Now()
	p, err := en.BeginEnrol(ctx, acct, input, pol, now)
	var ie *InputError
	if errors.As(err, &ie) && ie.Field == "" {
		// what the person typed: the page says so at the field
		return EnrolShow{}, BadField("address", 0, ie.ID, ie.Args...)
	}
	if err != nil {
		return EnrolShow{}, err
	}
	if kind == MethodEmail && (strings.EqualFold(p.Address, acct.Mail) || strings.EqualFold(p.Address, acct.UPN)) {
		// the work mailbox is behind the password being reset: no code goes to it
		return EnrolShow{}, BadField("address", 0, "input.private_email")
	}
	if kind == MethodEmail {
		// nor to any mailbox of the directory (an alias of the person's own, where the
		// directory finds addresses by their aliases, as AD's proxyAddresses; or a colleague's)
		switch other, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimEmail, Value: p.Address}); {
		case err == nil && other.ID == acct.ID:
			return EnrolShow{}, BadField("address", 0, "input.private_email")
		case err == nil || errors.Is(err, ErrAmbiguous):
			return EnrolShow{}, BadField("address", 0, "input.directory_email")
		case !errors.Is(err, ErrNotFound):
			return EnrolShow{}, fmt.Errorf("flows: enrol address lookup: %w", err)
		}
	}
	if p.Send != nil {
		ok, err := e.d.Enrollments.CountSend(ctx, ws.UserID, pol.Limits, now)
		if err != nil {
			return EnrolShow{}, err
		}
		if !ok {
			return EnrolShow{}, ErrLimit
		}
		if err := p.Send(ctx); err != nil {
			return EnrolShow{}, fmt.Errorf("flows: send enrol code: %w", err)
		}
	}
	ws.Purpose, ws.Reconfirm = PurposeRegister, false
	ws.PendingTOTP, ws.PendingEmail, ws.PendingMAC, ws.PendingExpiry = p.Secret, p.Address, p.MAC, p.ExpiresAt
	ws.PendingKind = kind
	return p.Show, nil
}

// PendingShow is what the confirmation page shows again after a wrong code: the pending
// authenticator key (QR code and manual entry), or where the code went. A reconfirmation of
// the registered app shows no key.
func (e *Engine) PendingShow(ctx context.Context, ws *WebState) (EnrolShow, error) {
	if err := e.signedIn(ws); err != nil {
		return EnrolShow{}, err
	}
	sh, ok := e.methods[ws.PendingKind].(PendingShower)
	if !ok || ws.Reconfirm && ws.PendingKind == MethodTOTP {
		return EnrolShow{}, nil
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return EnrolShow{}, fmt.Errorf("flows: enrol lookup: %w", err)
	}
	return sh.ShowPending(acct, PendingEnrol{Secret: ws.PendingTOTP, Address: ws.PendingEmail})
}

// ResendEnrol sends a new code to the destination being registered (or reconfirmed): a send,
// counted against the send limits like any other, never a failed attempt.
func (e *Engine) ResendEnrol(ctx context.Context, ws *WebState) (EnrolShow, error) {
	if err := e.signedIn(ws); err != nil {
		return EnrolShow{}, err
	}
	kind := ws.PendingKind
	if ws.PendingEmail == "" || (kind != MethodEmail && kind != MethodSMS && kind != MethodVoice) {
		return EnrolShow{}, ErrBadRequest
	}
	reconfirm := ws.Reconfirm
	show, err := e.BeginEnrol(ctx, ws, kind, ws.PendingEmail)
	if err == nil {
		ws.Reconfirm = reconfirm
	}
	return show, err
}

// CancelEnrol drops the pending registration ("back" on its page).
func (e *Engine) CancelEnrol(ws *WebState) {
	ws.PendingKind, ws.PendingTOTP, ws.PendingEmail, ws.PendingMAC, ws.Reconfirm = "", "", "", "", false
}

// ErrLimit: too many codes were sent recently.
var ErrLimit = errors.New("too many codes sent")

// ConfirmEnrol checks the first code of a pending enrolment and registers the method.
func (e *Engine) ConfirmEnrol(ctx context.Context, ws *WebState, code string) (MethodKind, error) {
	if err := e.signedIn(ws); err != nil {
		return "", err
	}
	kind := ws.PendingKind
	en, ok := e.methods[kind].(Enroller)
	if !ok {
		return "", ErrBadRequest
	}
	now := e.d.Clock.Now()
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return "", fmt.Errorf("flows: enrol lookup: %w", err)
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return "", err
	}
	p := PendingEnrol{Secret: ws.PendingTOTP, Address: ws.PendingEmail, MAC: ws.PendingMAC, ExpiresAt: ws.PendingExpiry}
	var reg Registered
	var step, replayStep int64
	if ws.Reconfirm && kind == MethodTOTP {
		reg, step, ok, err = e.confirmExistingTOTP(ctx, ws, acct, code)
		if err != nil {
			return "", err
		}
		replayStep = step // the registered app: a step once accepted is never accepted again
	} else {
		reg, step, ok = en.ConfirmEnrol(acct, p, code, now)
	}
	action := "register"
	if ws.Reconfirm {
		action = "reconfirm"
	}
	// every judgement is counted in the user's own counters, as in chat, before it can be
	// accepted: a new pending method or a new browser session does not start them over
	out, err := e.d.Enrollments.JudgeAttempt(ctx, ws.UserID, Attempt{Method: kind, Correct: ok, TOTPStep: replayStep, Limits: pol.Limits}, now)
	if err != nil {
		return "", err
	}
	ev := AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: action, Reason: string(kind)}
	switch {
	case out.Status == Blocked || out.Status == Rejected && !out.BlockedUntil.IsZero():
		ws.PendingKind, ws.PendingTOTP, ws.PendingEmail, ws.PendingMAC, ws.Reconfirm = "", "", "", "", false
		ev.Outcome = "blocked"
		e.audit(ctx, ev)
		return "", ErrBlocked
	case out.Status != Committed:
		ev.Outcome = "failed"
		e.audit(ctx, ev)
		return "", ErrCodeWrong
	}
	reconfirm := ws.Reconfirm
	ws.Reconfirm = false
	reg.RegisteredAt = now
	if err := e.d.Enrollments.Register(ctx, ws.UserID, reg, step); err != nil {
		return "", fmt.Errorf("flows: register: %w", err)
	}
	ws.PendingKind, ws.PendingTOTP, ws.PendingEmail, ws.PendingMAC = "", "", "", ""
	e.audit(ctx, AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: action, Outcome: "ok", Reason: string(kind)})
	if !reconfirm {
		e.announce(ctx, acct, reg)
	}
	return kind, nil
}

// announce tells the user, outside the chat, that a method was registered.
func (e *Engine) announce(ctx context.Context, a Account, reg Registered) {
	pol := e.policyOrDefault(ctx, "registration notice")
	lang, loc := e.noticeLocale(ctx, a, pol)
	e.mailUser(ctx, a, Text(lang, "mail.added.subject"), Text(lang, "mail.added.body", a.DisplayName,
		methodLabel(lang, reg.Kind), FormatWhen(lang, reg.RegisteredAt, loc), pol.HelpdeskURL))
}

// mailUser sends a notice to every address the user has: the directory's and the registered one.
func (e *Engine) mailUser(ctx context.Context, a Account, subject, body string) {
	en, err := e.d.Enrollments.Get(ctx, a.ID)
	e.mailUserAt(ctx, a, registeredMail(en, err), subject, body)
}

// registeredMail is the email address registered as a method in en ("" when none, or when the
// enrollment could not be read: the directory's address is then mailed alone).
func registeredMail(en Enrollment, err error) string {
	if err != nil {
		return ""
	}
	return en.Methods[MethodEmail].Address
}

// mailUserAt is mailUser with the registered address already read.
func (e *Engine) mailUserAt(ctx context.Context, a Account, registered, subject, body string) {
	to := map[string]bool{}
	if a.Mail != "" {
		to[strings.ToLower(a.Mail)] = true
	}
	if registered != "" {
		to[strings.ToLower(registered)] = true
	}
	list := make([]string, 0, len(to))
	for addr := range to {
		list = append(list, addr)
	}
	sort.Strings(list)
	if len(list) == 0 || e.d.Mailer == nil {
		return
	}
	if err := e.d.Mailer.Send(ctx, Mail{To: list, Subject: subject, Body: body}); err != nil {
		e.d.Log.ErrorContext(ctx, "notice failed", "err", err, "user", a.ID, "subject", subject)
	}
}

// Progress is how far a person's registration meets the policy.
type Progress struct {
	Have int  // methods registered that count for a reset
	Need int  // methods the policy requires of this person
	Met  bool // enough to reset alone (and never security questions alone)
}

// RegistrationProgress counts the registered methods that count for userID against the policy.
func (e *Engine) RegistrationProgress(ctx context.Context, userID string) (Progress, error) {
	return e.ProgressWithout(ctx, userID, "")
}

// ProgressWithout is the progress userID would have without the method without (none when
// ""): the methods page asks before a removal leaves fewer than the policy requires.
func (e *Engine) ProgressWithout(ctx context.Context, userID string, without MethodKind) (Progress, error) {
	pol, err := e.policy(ctx)
	if err != nil {
		return Progress{}, err
	}
	en, err := e.d.Enrollments.Get(ctx, userID)
	if err != nil {
		return Progress{}, err
	}
	if _, ok := en.Methods[without]; ok {
		en.Methods = maps.Clone(en.Methods)
		delete(en.Methods, without)
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: userID})
	if err != nil {
		return Progress{}, fmt.Errorf("flows: progress lookup: %w", err)
	}
	return progressOf(pol, acct, en), nil
}

// progressOf is how far the person's registered methods meet the policy.
func progressOf(pol Policy, acct Account, en Enrollment) Progress {
	usable := pol.Usable(acct, en)
	need := pol.RequiredFor(acct)
	met := Complete(usable, need) && len(usable) >= need || pol.Enough(acct, usable)
	if met {
		need = min(need, len(usable)) // a passkey alone may do
	}
	return Progress{Have: len(usable), Need: need, Met: met}
}

// FinishRegistration ends the chat's registration session and tells the chat what is set up,
// and whether that is enough: "All set" only when the policy is met.
func (e *Engine) FinishRegistration(ctx context.Context, ws *WebState) (Progress, error) {
	if err := e.signedIn(ws); err != nil {
		return Progress{}, err
	}
	lang, _ := e.noticeLocale(ctx, Account{ID: ws.UserID}, e.policyOrDefault(ctx, "registration notice"))
	names, err := e.RegisteredMethods(ctx, lang, ws.UserID)
	if err != nil {
		return Progress{}, err
	}
	p, err := e.RegistrationProgress(ctx, ws.UserID)
	if err != nil {
		return Progress{}, err
	}
	if e.d.Notifier != nil {
		chat, ok := parseChatKey(ws.ChatKey)
		chat.Locale = lang
		if ok {
			list := strings.Join(names, ", ")
			// "3 of 3", never "3 of 2", when more are registered than needed
			r := Reply{MsgID: MsgRegistered, Text: Text(chat.Locale, MsgRegistered, p.Have, max(p.Need, p.Have), list), Private: true}
			if !p.Met {
				r = Reply{MsgID: MsgRegisteredShort, Text: Text(chat.Locale, MsgRegisteredShort, p.Have, p.Need, orNothing(chat.Locale, list)), Private: true}
			}
			if err := e.notify(ctx, ws.UserID, chat, []Reply{r}); err != nil {
				e.d.Log.ErrorContext(ctx, "chat notice failed", "err", err)
			}
		}
	}
	return p, nil
}

func orNothing(locale, list string) string {
	if list == "" {
		return Text(locale, MsgNothingYet)
	}
	return list
}

func parseChatKey(k string) (ChatRef, bool) {
	parts := strings.SplitN(k, ":", 3)
	if len(parts) != 3 {
		return ChatRef{}, false
	}
	return ChatRef{Platform: parts[0], Tenant: parts[1], UserID: parts[2]}, true
}
