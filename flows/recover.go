package flows

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// The web recovery page (PUBLIC_BASE_URL/recover) is another channel into the same engine: the
// person types a work address or user name instead of being known by a chat identity, and
// proves it is them with the same methods, counted in the same per-user counters, blocks and
// send limits, by the same atomic commit as a chat step.
//
// It must not tell anyone whether an account exists, is registered, is eligible, is privileged,
// is disabled or is blocked. So the first proof is asked for blind: "enter the code from your
// authenticator app, or send a code to your registered email or phone". A send answers the same
// whether or not anything was sent, a wrong code gets the same answer whatever the reason, and
// every hidden state runs the same directory look-up and the same Redis round trips (one
// pipelined read, one step script), with a stand-in code that can never match where nothing was
// sent. Only after a correct first proof are the remaining registered methods shown.

// RecoverPlatform names the web recovery channel in chat references and audit events.
const RecoverPlatform = "web"

// RecoverAction is what the person did on the recovery page.
type RecoverAction string

// The recovery page's actions.
const (
	RecoverStart RecoverAction = "start" // typed a name (Unlock says which flow)
	RecoverSend  RecoverAction = "send"  // asked for a code: Arg "email" or "phone"
	RecoverCode  RecoverAction = "code"  // typed a code
	RecoverPick  RecoverAction = "pick"  // after the first proof: picked a method (Arg its kind)
	RecoverShow  RecoverAction = "show"  // only show where the person is
	// after the first proof, on the page asking for a code sent: a new code (a send, within
	// the send limits, never a failure), or back to the choice of method
	RecoverResend RecoverAction = "resend"
	RecoverBack   RecoverAction = "back"
)

// RecoverInput is one request of the recovery page.
type RecoverInput struct {
	Browser string // the browser's own key (a MAC of its cookie); never a verification factor
	Name    string // the work address or user name typed
	Locale  string
	Action  RecoverAction
	Arg     string
	Code    string
	Unlock  bool   // RecoverStart: the person's account is locked (rather than the password forgotten)
	From    string // the client address, audited
}

// RecoverStage is where the recovery page stands.
type RecoverStage int

// The recovery page's stages.
const (
	// RecoverFirst asks for the first proof blind: an app code, or a code sent by email or phone.
	RecoverFirst RecoverStage = iota
	// RecoverCodeSent says a code is on its way if a destination is registered; it asks for it.
	RecoverCodeSent
	// RecoverMore: the first proof was right; Methods are the methods left to prove.
	RecoverMore
	// RecoverAwait: a method picked after the first proof; the code is asked for.
	RecoverAwait
	// RecoverLink: proven; Link is the one-time page that sets the new password (or asks the
	// security questions).
	RecoverLink
	// RecoverDone: finished here (an unlock); Messages say what happened.
	RecoverDone
	// RecoverStartOver: nothing in progress (expired, or never started).
	RecoverStartOver
)

// RecoverMethod is one method offered after the first proof.
type RecoverMethod struct {
	Kind  MethodKind
	Label string // masked: "Email code (j***@c****.com)"
}

// RecoverView is what the recovery page shows next.
type RecoverView struct {
	Stage    RecoverStage
	Sent     string     // RecoverCodeSent: "email" or "phone", as the person asked
	Method   MethodKind // RecoverAwait: the method being proven
	Methods  []RecoverMethod
	Link     string   // RecoverLink, RecoverDone: a one-time page
	Messages []string // catalog texts to show (RecoverAwait, RecoverDone)
	// Refused: the code was not accepted (wrong, expired, used, or self-service is paused):
	// one answer for every reason before the first proof.
	Refused bool
	// Limit: too many codes were asked for recently.
	Limit bool
	// Busy: two requests of one browser crossed; try again.
	Busy bool
}

// RecoverClaim is the claim a typed name makes: an address is matched against mail and UPN,
// anything else is a user name (AD's sAMAccountName, or DOMAIN\name).
func RecoverClaim(name string) Claim {
	name = strings.TrimSpace(name)
	if strings.Contains(name, "@") {
		return Claim{Kind: ClaimEmail, Value: name}
	}
	return Claim{Kind: ClaimUPN, Value: name}
}

// MaxRecoverName bounds the typed name.
const MaxRecoverName = 256

// RecoverURL is the address of the recovery page, "" without PUBLIC_BASE_URL.
func (e *Engine) RecoverURL() string {
	if e.o.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(e.o.BaseURL, "/") + "/recover"
}

// RecoverHint is the sentence that points people at the recovery page before they need it
// (the help reply, reminders, the chat home pages), "" without PUBLIC_BASE_URL.
func (e *Engine) RecoverHint(locale string) string {
	u := e.RecoverURL()
	if u == "" {
		return ""
	}
	return Text(locale, MsgRecoverHint, u)
}

// withHint appends the recovery page's pointer to a text.
func (e *Engine) withHint(locale, text string) string {
	if h := e.RecoverHint(locale); h != "" {
		return text + "\n\n" + h
	}
	return text
}

// recoverChat is the chat reference of one browser recovering one name: a new name in the same
// browser is a new conversation with its own account cache entry.
func (e *Engine) recoverChat(in RecoverInput) ChatRef {
	id := e.d.MAC.MAC("recover", in.Browser, strings.ToLower(strings.TrimSpace(in.Name)))
	if len(id) > 32 {
		id = id[:32]
	}
	return ChatRef{Platform: RecoverPlatform, Tenant: "recover", UserID: strings.ReplaceAll(id, ":", "_"), Locale: in.Locale}
}

// Recover runs one request of the recovery page. Like a chat step it costs one directory
// look-up (cached), one pipelined read and one atomic commit, the same for every hidden state.
func (e *Engine) Recover(ctx context.Context, in RecoverInput) (RecoverView, error) {
	ctx = beginStep(ctx, "")
	now := e.d.Clock.Now()
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > MaxRecoverName || !validText(name) || strings.ContainsAny(name, "\r\n\t") {
		return RecoverView{Stage: RecoverStartOver}, ErrBadRequest
	}
	chat := e.recoverChat(in)
	ib := Inbound{Chat: chat, Claim: RecoverClaim(name)}
	s := &step{in: ib, now: now, chatKey: chat.Key()}
	pol, err := e.policy(ctx)
	if err != nil {
		return RecoverView{}, err
	}
	s.pol = pol
	acct, lookupErr := e.identify(ctx, ib, s.chatKey)
	if lookupErr != nil && !isExpected(lookupErr) {
		e.audit(ctx, AuditEvent{Time: now, Actor: s.chatKey, Platform: RecoverPlatform, Action: "recover", Outcome: "failed", Reason: "directory unavailable"})
		return RecoverView{}, lookupErr
	}
	s.subject = acct.ID
	if lookupErr != nil {
		// a name that matches nobody has counters of its own, shared by every browser like a
		// person's, so the send limit and the block come at the same count for everyone
		s.subject = "c:" + RecoverPlatform + ":" + e.d.MAC.MAC("recover-name", strings.ToLower(name))
	}
	snap, err := e.d.Sessions.Load(ctx, s.subject, chat.Key())
	if err != nil {
		return RecoverView{}, err
	}
	s.acct, s.snap, s.sess = acct, snap, snap.Session
	s.commit = Commit{Subject: s.subject, ChatKey: chat.Key(), Now: now, KeepSession: true}
	if s.sess != nil {
		s.commit.ExpectVersion = s.sess.Version
		if s.sess.Expired(now) {
			s.sess = nil
			s.commit.KeepSession = false
		}
	}
	reason := e.ineligible(acct, lookupErr, pol, snap.Enrollment, now)
	if pol.DirectoryMethods {
		e.recoverContacts(ctx, s, reason)
	}
	if reason == "" {
		reason = e.recoverable(ctx, s, in.Unlock)
	}
	r := &recovery{e: e, s: s, in: in, reason: reason}
	return r.run(ctx)
}

// recoverContacts reads the directory's contact methods for every hidden state alike (by the
// object id that stands for nobody when there is no account), so the call sequence never
// tells them apart; only an eligible account's are used.
func (e *Engine) recoverContacts(ctx context.Context, s *step, reason string) {
	if reason == "" {
		e.addDirectoryMethods(ctx, s)
		return
	}
	if src := e.caps.Contacts; src != nil {
		id := s.acct.ID
		if id == "" {
			id = NoObjectID
		}
		_, _ = src.ContactMethods(ctx, id)
	}
}

// recoverable adds the reasons an eligible account still cannot recover on the page, hidden
// like the others: too few methods, methods due for reconfirmation, a flow the policy does not
// allow.
func (e *Engine) recoverable(ctx context.Context, s *step, unlock bool) string {
	switch {
	case unlock && !(s.pol.AllowUnlock && e.unlockable(s.acct)) && !s.pol.AllowReset,
		!unlock && !s.pol.AllowReset:
		return "flow_not_allowed"
	case len(s.pol.Usable(s.acct, s.snap.Enrollment)) < s.pol.RequiredFor(s.acct):
		return "not_registered"
	case anyDue(s, s.pol.Usable(s.acct, s.snap.Enrollment)):
		return "reconfirm_due"
	}
	return ""
}

// recovery is one request of the recovery page under way.
type recovery struct {
	e      *Engine
	s      *step
	in     RecoverInput
	reason string // why the account cannot recover ("" when it can): audited, never shown
	view   RecoverView
	// sync: the side effects are what the answer reports (an unlock), so they run before it;
	// otherwise (sends, notices) they run after it, so no hidden state shows in the timing
	sync bool
}

func (r *recovery) run(ctx context.Context) (RecoverView, error) {
	s := r.s
	sess := s.sess
	switch r.in.Action {
	case RecoverStart:
		r.start()
	case RecoverShow:
		if sess == nil {
			return RecoverView{Stage: RecoverStartOver}, nil
		}
		return r.current(sess, sess.Version), nil
	case RecoverSend:
		if sess == nil || len(sess.Proven) > 0 || (sess.State != StateChooseMethod && sess.State != StateAwaitCode) {
			return r.startOver()
		}
		r.send(ctx)
	case RecoverCode:
		s.in.Text = r.in.Code
		if sess == nil || (sess.State != StateChooseMethod && sess.State != StateAwaitCode) {
			return r.startOver()
		}
		if len(sess.Proven) == 0 {
			r.firstCode(ctx)
		} else if sess.State == StateAwaitCode && r.reason == "" {
			r.e.checkCode(ctx, s)
		} else {
			return r.current(sess, sess.Version), nil
		}
	case RecoverPick:
		if sess == nil || len(sess.Proven) == 0 || r.reason != "" {
			return r.startOver()
		}
		r.e.choose(ctx, s, "m", r.in.Arg)
		if s.commit.Session == nil {
			// not a method this person may pick now: the page shows where they are
			return r.current(sess, sess.Version), nil
		}
		r.view = RecoverView{Stage: RecoverAwait, Method: MethodKind(r.in.Arg)}
	case RecoverResend, RecoverBack:
		if sess == nil {
			return r.startOver()
		}
		if len(sess.Proven) == 0 {
			// before the first proof: back from a code sent to the first page (to type the
			// app's code instead), alike for every name, as the send was
			if r.in.Action == RecoverBack && sess.State == StateAwaitCode {
				next := *sess
				next.State, next.Method = StateChooseMethod, ""
				r.e.save(s, &next)
				r.view = RecoverView{Stage: RecoverFirst}
				break
			}
			return r.current(sess, sess.Version), nil
		}
		if r.reason != "" {
			return r.startOver()
		}
		if sess.State != StateAwaitCode || sess.Method == MethodQuestions || sess.Method == MethodPasskey ||
			r.in.Action == RecoverResend && sess.Method == MethodTOTP {
			return r.current(sess, sess.Version), nil // nothing was sent: where the person is
		}
		if r.in.Action == RecoverBack {
			next := *sess
			next.State, next.Method = StateChooseMethod, ""
			r.e.save(s, &next)
			r.view = r.current(&next, next.Version)
			break
		}
		s.resending = true
		r.e.choose(ctx, s, "m", string(sess.Method))
		if s.commit.Session == nil {
			return r.current(sess, sess.Version), nil
		}
		r.view = RecoverView{Stage: RecoverAwait, Method: sess.Method}
	default:
		return RecoverView{Stage: RecoverStartOver}, ErrBadRequest
	}
	return r.finish(ctx)
}

func (r *recovery) startOver() (RecoverView, error) {
	return RecoverView{Stage: RecoverStartOver}, nil
}

// start begins a conversation for every name alike.
func (r *recovery) start() {
	flow := FlowReset
	if r.in.Unlock {
		flow = FlowUnlock
	}
	r.e.newSession(r.s, flow, StateChooseMethod)
	r.view = RecoverView{Stage: RecoverFirst}
	r.audit("recover_start", flow)
}

// audit records a step of the page: with its hidden reason, for the audit log only.
func (r *recovery) audit(action string, flow Flow) {
	outcome := "ok"
	if r.reason != "" {
		outcome = "hidden"
	}
	r.s.audit(action, outcome, strings.Join(slices.DeleteFunc([]string{string(flow), r.reason, "from", r.in.From}, func(s string) bool { return s == "" }), " "))
}

// sendKind is the method a blind send uses: the email code, or the first registered phone
// method (a text message before a call).
func (r *recovery) sendKind() MethodKind {
	if r.in.Arg == "email" {
		return MethodEmail
	}
	usable := r.s.pol.Usable(r.s.acct, r.s.snap.Enrollment)
	if r.reason == "" && !slices.Contains(usable, MethodSMS) && slices.Contains(usable, MethodVoice) {
		return MethodVoice
	}
	return MethodSMS
}

// send sends a code where one is registered, and otherwise writes a stand-in code that can
// never match, counted against the same send limit: the answer and the round trips are the same.
func (r *recovery) send(ctx context.Context) {
	s := r.s
	if r.in.Arg != "email" && r.in.Arg != "phone" {
		r.in.Arg = "email"
	}
	kind := r.sendKind()
	r.view = RecoverView{Stage: RecoverCodeSent, Sent: r.in.Arg}
	hidden := r.reason != "" || !slices.Contains(s.pol.Usable(s.acct, s.snap.Enrollment), kind) || r.e.methods[kind] == nil
	if !hidden {
		r.e.choose(ctx, s, "m", string(kind))
		if s.commit.PutCode != nil {
			s.audit("recover_send", "ok", string(kind)+" from "+r.in.From)
			return
		}
		// the challenge failed before anything was planned: fall through to the stand-in, so
		// the answer stays the same (the failure is logged)
		s.after, s.onOutcome, s.replies = nil, nil, nil
	}
	next := *s.sess
	next.State, next.Method = StateAwaitCode, kind
	lim := s.pol.Limits
	s.commit.CountSend = &lim
	s.commit.PutCode = &StoredCode{MAC: "x:" + r.e.standIn(), ExpiresAt: s.now.Add(10 * time.Minute)}
	r.e.save(s, &next)
	s.audit("recover_send", "hidden", string(kind)+" "+r.reasonOr("not_registered")+" from "+r.in.From)
}

func (r *recovery) reasonOr(def string) string {
	if r.reason != "" {
		return r.reason
	}
	return def
}

// standIn is a random value no code MAC ever equals.
func (e *Engine) standIn() string {
	var b [16]byte
	_, _ = e.d.Rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// firstCode judges the blind first proof: the code of the method a code was sent for, or else
// the authenticator app's. Where the account cannot recover, or has no such method, the same
// attempt is counted and is never right.
func (r *recovery) firstCode(ctx context.Context) {
	s := r.s
	sess := *s.sess
	kind := sess.Method
	if sess.State != StateAwaitCode || kind == "" {
		kind = MethodTOTP
	}
	sess.State, sess.Method = StateAwaitCode, kind
	s.sess = &sess
	stage := RecoverFirst
	if kind != MethodTOTP {
		stage = RecoverCodeSent
	}
	r.view = RecoverView{Stage: stage, Sent: sentOf(kind)}
	m := r.e.methods[kind]
	if r.reason == "" && m != nil && slices.Contains(s.pol.Usable(s.acct, s.snap.Enrollment), kind) {
		r.e.checkCode(ctx, s)
		return
	}
	// a stand-in judgement: expired like a real code would be, else counted as a failure
	code := s.snap.Code
	if kind != MethodTOTP && code.MAC != "" && !s.now.Before(code.ExpiresAt) {
		next := sess
		next.State, next.Method = StateChooseMethod, ""
		r.e.save(s, &next)
		s.say(MsgCodeExpired)
		return
	}
	s.commit.Attempt = &Attempt{Method: kind, Correct: false, CodeMAC: code.MAC, Limits: s.pol.Limits}
	next := sess
	next.Proven = append(slices.Clone(sess.Proven), kind)
	next.State, next.Method = StateChooseMethod, ""
	r.e.save(s, &next)
	s.audit("recover_code", "hidden", string(kind)+" "+r.reasonOr("not_registered")+" from "+r.in.From)
}

func sentOf(k MethodKind) string {
	switch k {
	case MethodEmail:
		return "email"
	case MethodSMS, MethodVoice:
		return "phone"
	}
	return ""
}

// finish commits the step and turns its outcome into the page's next view.
func (r *recovery) finish(ctx context.Context) (RecoverView, error) {
	e, s := r.e, r.s
	out, err := e.d.Sessions.Commit(ctx, s.commit)
	if err != nil {
		return RecoverView{}, err
	}
	if out.Status == Stale || out.Status == Duplicate {
		v := r.view
		v.Busy = true
		return v, nil
	}
	var replies []Reply
	if s.onOutcome != nil {
		replies = s.onOutcome(out)
	}
	v := r.view
	attempt := s.commit.Attempt != nil
	switch {
	case out.Status == LimitReached:
		v.Limit = true
	case attempt && out.Status != Committed, hasMsg(s.replies, MsgCodeExpired):
		// wrong, used, expired or blocked: one answer before the first proof; after it the
		// person is known to be who they say, and is told what the chat would tell them
		v.Refused = true
		if len(s.sess.Proven) > 0 {
			v.Stage, v.Method = RecoverAwait, s.sess.Method
			v.Messages = texts(replies)
		}
		if hasMsg(s.replies, MsgCodeExpired) {
			v.Stage = RecoverFirst
		}
	case attempt:
		next := s.commit.Session
		r.sync = true
		switch {
		case next == nil || next.State == StateResetLink:
			v = RecoverView{Stage: RecoverLink}
		default:
			v = r.current(next, out.Version)
		}
	case r.in.Action == RecoverPick || r.in.Action == RecoverResend:
		if len(replies) > 0 {
			v.Messages = texts(replies[:1])
			if replies[0].Link != "" {
				// answered on a page of its own (the security questions): straight there
				v = RecoverView{Stage: RecoverLink, Link: replies[0].Link}
			}
		}
	}
	run := func(ctx context.Context) {
		for _, f := range s.after {
			if err := f(ctx); err != nil {
				e.d.Log.ErrorContext(ctx, "recovery side effect failed", "err", err, "user", s.subject)
				s.replies = append(s.replies, s.reply(MsgTrouble, s.pol.HelpdeskURL))
			}
		}
		for _, a := range s.audits {
			e.audit(ctx, a)
		}
	}
	if r.sync {
		run(ctx)
		all := append(s.replies, replies...)
		for _, rp := range all {
			if rp.Link != "" && v.Link == "" {
				v.Link = rp.Link
			}
		}
		if v.Stage == RecoverLink && v.Link == "" {
			// an unlock that needed no new password
			v.Stage = RecoverDone
		}
		if v.Stage == RecoverDone || (v.Stage == RecoverLink && len(all) > 1) {
			v.Messages = texts(all)
		}
	} else {
		e.later(ctx, run)
	}
	return v, nil
}

// current is the view of a live session.
func (r *recovery) current(sess *Session, version int64) RecoverView {
	switch {
	case len(sess.Proven) == 0 && sess.State == StateAwaitCode && sess.Method != MethodTOTP:
		return RecoverView{Stage: RecoverCodeSent, Sent: sentOf(sess.Method)}
	case len(sess.Proven) == 0:
		return RecoverView{Stage: RecoverFirst}
	case sess.State == StateAwaitCode && sess.Method != MethodQuestions && sess.Method != MethodPasskey:
		// (the security questions and a passkey are answered on their own page: back here,
		// the person chooses again)
		return RecoverView{Stage: RecoverAwait, Method: sess.Method}
	case sess.State == StateResetLink:
		return RecoverView{Stage: RecoverDone, Messages: []string{Text(r.in.Locale, MsgStepResetLink)}}
	}
	var ms []RecoverMethod
	for _, c := range r.e.methodChoices(r.s, sess, version) {
		k, _, _ := strings.Cut(strings.TrimPrefix(c.ID, "m:"), "|")
		ms = append(ms, RecoverMethod{Kind: MethodKind(k), Label: c.Label})
	}
	return RecoverView{Stage: RecoverMore, Methods: ms}
}

// hasMsg reports whether replies hold a message.
func hasMsg(rs []Reply, id MsgID) bool {
	for _, r := range rs {
		if r.MsgID == id {
			return true
		}
	}
	return false
}

func texts(rs []Reply) []string {
	var out []string
	for _, r := range rs {
		if r.Text != "" {
			out = append(out, r.Text)
		}
	}
	return out
}

// RateHit is one bucket a request of the recovery page counts against: at most Max in a
// fixed Window.
type RateHit struct {
	Key    string
	Max    int
	Window time.Duration
}

// RateLimiter keeps the recovery page's abuse limits (per address, per network, the global
// budget of codes sent) and its single-use proof-of-work challenges, shared by every replica.
type RateLimiter interface {
	// Take uses once (when not "", marking it used until onceFor passes; a used one is
	// refused) and then counts one hit on each bucket, all atomically; it returns the index of
	// the first bucket over its limit (len(hits) when once was used before), or -1.
	Take(ctx context.Context, now time.Time, once string, onceFor time.Duration, hits []RateHit) (int, error)
}

// AuditRecoverRefused records a request of the recovery page refused by its abuse controls.
func (e *Engine) AuditRecoverRefused(ctx context.Context, from, reason string) {
	e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: "web:" + from, Platform: RecoverPlatform, Action: "recover",
		Outcome: "refused", Reason: reason})
}

// Now is the engine's clock (the pages' challenges expire by it).
func (e *Engine) Now() time.Time { return e.d.Clock.Now() }
