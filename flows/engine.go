package flows

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/resetbot/resetbot/internal/gopool"
)

// ErrPinMismatch: the chat identity is pinned to another directory user.
var ErrPinMismatch = errors.New("chat identity pinned to another directory user")

// Deps are the ports the engine drives.
type Deps struct {
	Directory   Directory
	Sessions    Sessions
	Links       Links
	Enrollments Enrollments
	WebStates   WebStates
	Policies    PolicyStore
	Pending     PendingChanges
	Reminders   ReminderQueue
	Helpdesk    HelpdeskStore // caller verification requests; optional (nil: "verify" is off)
	SignIns     SignInLimiter // password sign-ins of deployments without Entra; optional
	Banned      *BannedList   // the built-in banned-password list
	// Campaign plans a reminder campaign now (bot/app wires it to Reminders.Request, so the
	// scheduler plans it on its own goroutine); optional.
	Campaign func(ctx context.Context) (int, error)
	Locales  PersonLocales // each person's language, remembered; optional
	Audit    Auditor
	Alerts   Alerter
	Notifier Notifier
	Mailer   Mailer
	MAC      MACer
	Clock    Clock
	Rand     Random
	Methods  []Method
	Log      *slog.Logger
}

// DefaultIdentityTTL is how long the directory account of a chat identity is cached in process.
const DefaultIdentityTTL = time.Minute

// Options are deployment settings the engine needs.
type Options struct {
	BaseURL         string // PUBLIC_BASE_URL of the web pages
	AllowPrivileged bool   // may privileged users self-serve at all
	ADConfigured    bool   // can AD-synced users be served
	Issuer          string // shown in authenticator apps
	MaxSignInAge    time.Duration
	IdentityTTL     time.Duration
	PolicyTTL       time.Duration
	AdminGroups     []string // directory groups whose members are bot admins
	HelpdeskGroups  []string // directory groups whose members may verify callers (helpdesk agents)
	ExpiryReminders bool     // password expiry reminders are on: the report has their line
	// AdminAuthContext is the Conditional Access authentication context (c1 … c99) whose
	// policy requires multi-factor authentication: a bot admin's confirmation sign-in asks for
	// it and must come back with it in acrs. Empty: actions that need the step-up are refused.
	AdminAuthContext string
}

// Engine runs every conversation: Handle loads, checks expiry, dispatches and saves.
type Engine struct {
	d       Deps
	o       Options
	methods map[MethodKind]Method
	// caps are the directory's optional abilities, read once
	caps Capabilities

	mu     sync.Mutex
	pol    Policy
	polAt  time.Time
	idents map[string]identEntry
	// identSweep is when idents next drops the entries past both of their times
	identSweep time.Time
	// bg counts work that runs after a person got their answer (session revocation and
	// notices after a reset); Drain waits for it
	bg sync.WaitGroup
	// the policy's banned terms, rebuilt when the policy changes
	custom   *BannedList
	customOf []string
	// locales: the language and time zone each person's pair was last kept as (userID →
	// PersonLocale), so a process writes it once
	locales sync.Map
}

type identEntry struct {
	acct Account
	err  error
	at   time.Time
	// known is the object id the claim was last searched to (NoObjectID when it matched
	// nobody), at knownAt; until KnownIDTTL passes, look-ups read it by id
	known   string
	knownAt time.Time
}

// NoObjectID stands for "the claim matched no directory user": it is read by id like a real
// one, so a person nobody knows costs the same directory calls as anyone else.
const NoObjectID = "00000000-0000-0000-0000-000000000000"

// KnownIDTTL is how long the object id a claim was searched to is trusted before the claim is
// searched again (for everyone alike, whatever the answer was).
const KnownIDTTL = 10 * time.Minute

// New builds an engine.
func New(d Deps, o Options) *Engine {
	if o.MaxSignInAge == 0 {
		o.MaxSignInAge = 5 * time.Minute
	}
	if o.IdentityTTL == 0 {
		o.IdentityTTL = DefaultIdentityTTL
	}
	if o.PolicyTTL == 0 || o.PolicyTTL > 5*time.Second {
		o.PolicyTTL = 5 * time.Second
	}
	if o.Issuer == "" {
		o.Issuer = "resetbot"
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	e := &Engine{d: d, o: o, methods: map[MethodKind]Method{}, idents: map[string]identEntry{}}
	if d.Directory != nil {
		e.caps = d.Directory.Capabilities()
	}
	for _, m := range d.Methods {
		e.methods[m.Kind()] = m
	}
	return e
}

// later runs f after the caller has answered the person, so they never wait for it (DESIGN:
// anything the reply does not depend on runs after the reply). It is not cancelled with the
// request.
func (e *Engine) later(ctx context.Context, f func(ctx context.Context)) {
	e.bg.Add(1)
	gopool.Go(func() {
		defer e.bg.Done()
		f(detach(ctx))
	})
}

// Drain waits for the work started after answers (at shutdown, and in tests).
func (e *Engine) Drain() { e.bg.Wait() }

// step is the work of one inbound message: what to write and what to say.
type step struct {
	in      Inbound
	chatKey string // in.Chat.Key(), built once
	now     time.Time
	pol     Policy
	acct    Account
	subject string
	snap    Snapshot
	sess    *Session // the live session (nil when none or expired)
	commit  Commit
	replies []Reply
	after   []func(ctx context.Context) error
	audits  []AuditEvent
	// filled after commit, per outcome
	onOutcome func(o Outcome) []Reply
	resending bool // the step sends a new code for the method being proven
}

func (s *step) say(id MsgID, args ...any) {
	s.replies = append(s.replies, Reply{MsgID: id, Text: Text(s.in.Chat.Locale, id, args...), Private: true})
}

// Handle processes one inbound message and returns the replies. It costs one pipelined read
// and one atomic write in the session store; audit writes are asynchronous.
func (e *Engine) Handle(ctx context.Context, in Inbound) ([]Reply, error) {
	ctx = beginStep(ctx, in.Chat.Locale)
	now := e.d.Clock.Now()
	s := &step{in: in, now: now, chatKey: in.Chat.Key()}
	if !validText(in.Text) || len(in.Choice) > 512 {
		s.say(MsgBadInput)
		return s.replies, nil
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return e.trouble(ctx, s, pol, "store", fmt.Errorf("flows: policy: %w", err))
	}
	s.pol = pol
	acct, lookupErr := e.identify(ctx, in, s.chatKey)
	if lookupErr != nil && !errors.Is(lookupErr, ErrNotFound) && !errors.Is(lookupErr, ErrAmbiguous) {
		return e.trouble(ctx, s, pol, "directory", lookupErr)
	}
	s.subject = acct.ID
	if lookupErr != nil {
		s.subject = "c:" + s.chatKey
	}
	// the pin is read with the snapshot, and a platform delivery claimed: one pipelined read
	var snap Snapshot
	if in.Delivery != "" {
		snap, err = e.d.Sessions.LoadDelivered(ctx, s.subject, s.chatKey, in.Delivery)
	} else {
		snap, err = e.d.Sessions.Load(ctx, s.subject, s.chatKey)
	}
	if err != nil {
		return e.trouble(ctx, s, pol, "store", fmt.Errorf("flows: load: %w", err))
	}
	if snap.Repeated {
		return nil, nil // a platform's retry of a delivery already handled (here or on another replica)
	}
	if lookupErr == nil {
		acct, lookupErr = e.checkPin(ctx, in, snap.Pinned, acct)
	}
	s.acct = acct
	s.snap = snap
	s.sess = snap.Session
	var locale *PersonLocale
	if lookupErr == nil {
		locale = e.localeToRemember(acct.ID, in.Chat)
	}
	idem := in.IdemKey
	if in.Delivery != "" {
		idem = "" // the delivery was claimed by the read: no second copy reaches this commit
	}
	s.commit = Commit{Subject: s.subject, ChatKey: s.chatKey, IdemKey: idem, Now: now, KeepSession: true, MenuWas: snap.Menu,
		Locale: locale}
	if s.sess != nil {
		s.commit.ExpectVersion = s.sess.Version
	}
	if s.sess != nil && s.sess.Expired(now) {
		s.sess = nil
		s.commit.KeepSession = false
		s.say(MsgExpired)
	}

	reason := e.ineligible(acct, lookupErr, pol, snap.Enrollment, now)
	if reason == "" && pol.DirectoryMethods {
		e.addDirectoryMethods(ctx, s)
	}
	e.dispatch(ctx, s, reason)
	return e.finish(ctx, s, reason)
}

// finish applies a step's commit, then says what happened and runs the side effects.
func (e *Engine) finish(ctx context.Context, s *step, reason string) ([]Reply, error) {
	in, pol := s.in, s.pol
	if len(s.snap.Menu) > 0 && lastMenu(s.replies) != nil {
		s.commit.ForgetMenu = true // a newer menu is shown
	}
	out, err := e.d.Sessions.Commit(ctx, s.commit)
	if err != nil {
		return e.trouble(ctx, s, pol, "store", fmt.Errorf("flows: commit: %w", err))
	}
	if l := s.commit.Locale; l != nil {
		e.locales.Store(s.commit.Subject, *l) // kept by the commit, whatever its outcome
	}
	if e.d.Log.Enabled(ctx, slog.LevelDebug) { // its arguments are built only when it is written
		e.d.Log.DebugContext(ctx, "step", "chat", s.commit.ChatKey, "subject", s.subject, "status", int(out.Status),
			"version", out.Version, "ineligible", reason)
	}
	switch out.Status {
	case Duplicate:
		return nil, nil
	case Stale:
		return []Reply{{MsgID: MsgBusy, Text: Text(in.Chat.Locale, MsgBusy), Private: true}}, nil
	}
	if s.onOutcome != nil {
		s.replies = append(s.replies, s.onOutcome(out)...)
	}
	e.menuReplaced(ctx, s)
	for _, f := range s.after {
		err := f(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrBudget):
			s.replies = []Reply{s.reply(MsgPhoneBudget, pol.HelpdeskURL)}
		default:
			// the reply promised what failed (a code sent, an account unlocked): it is replaced
			e.d.Log.ErrorContext(ctx, "side effect failed", "err", err, "user", s.subject)
			s.replies = []Reply{{MsgID: MsgTrouble, Text: Text(in.Chat.Locale, MsgTrouble, pol.HelpdeskURL), Private: true}}
		}
	}
	for _, a := range s.audits {
		e.audit(ctx, a)
	}
	return s.replies, nil
}

func validText(t string) bool {
	if len(t) > MaxTextLen || !utf8.ValidString(t) {
		return false
	}
	for _, r := range t {
		if r == 0 || (r < 0x20 && r != '\n' && r != '\t' && r != '\r') {
			return false
		}
	}
	return true
}

// trouble is the polite "try again in a moment" when a dependency failed before anything was
// written; the audit log names which one (directory or store).
func (e *Engine) trouble(ctx context.Context, s *step, pol Policy, what string, err error) ([]Reply, error) {
	e.audit(ctx, AuditEvent{Time: s.now, Actor: s.in.Chat.Key(), Subject: s.acct.ID, Platform: s.in.Chat.Platform,
		Action: "step", Outcome: "failed", Reason: what + " unavailable"})
	url := pol.HelpdeskURL
	if url == "" {
		url = DefaultPolicy().HelpdeskURL
	}
	return []Reply{{MsgID: MsgTrouble, Text: Text(s.in.Chat.Locale, MsgTrouble, url), Private: true}}, err
}

// ineligible returns why the person of one step is out of self-service, or "" when they may
// use it: the look-up's outcome, who they are (Ineligible) and whether they are blocked now. The
// reasons are only audited: the user sees the same helpdesk reply for each of them.
func (e *Engine) ineligible(a Account, lookupErr error, pol Policy, en Enrollment, now time.Time) string {
	switch {
	case errors.Is(lookupErr, ErrPinMismatch):
		return "pin_mismatch"
	case lookupErr != nil:
		return "not_found"
	}
	if why := e.Ineligible(a, pol); why != "" {
		return why
	}
	if IsBlocked(en, now) {
		return "blocked"
	}
	return ""
}

// Ineligible says why a directory user may not use self-service under pol by who they are, or ""
// when they may. It is the one home of that rule: the chat and web steps, the registration
// reminders, the expiry reminders' button and the report's "in scope" all ask it. A block is a
// state of the moment, not who someone is: the steps check it on top.
func (e *Engine) Ineligible(a Account, pol Policy) string {
	switch {
	case !a.Enabled:
		return "disabled"
	case !pol.InScope(a):
		return "out_of_scope"
	case a.Privileged && !e.o.AllowPrivileged:
		return "privileged"
	case a.Synced && !e.o.ADConfigured:
		return "synced_without_ad"
	}
	return ""
}

func (e *Engine) dispatch(ctx context.Context, s *step, reason string) {
	intent := IntentUnknown
	var act, arg string
	// a number or label typed for a menu a notice posted is that menu's choice
	e.pickNoticeMenu(s)
	if strings.HasPrefix(s.in.Choice, "x:notme|") {
		// honoured whatever the user's state: someone may have taken over the account
		if s.acct.ID != "" {
			e.notMe(ctx, s)
			return
		}
	}
	if strings.HasPrefix(s.in.Choice, helpdeskChoice) {
		// a helpdesk request: answered whatever the person's self-service state (privileged or
		// blocked people are verified too; nothing here changes their account)
		e.helpdeskAnswer(ctx, s)
		return
	}
	if strings.HasPrefix(s.in.Choice, "l:unlock") {
		// "Unlock it now?" under a lockout alert: the person's own unlock, like typing it
		if reason != "" {
			e.refuse(s, reason)
			return
		}
		e.startVerify(ctx, s, IntentUnlock)
		return
	}
	if strings.HasPrefix(s.in.Choice, expiryChoicePrefix) {
		// "Change it now" under an expiry reminder: the person's own change page
		if reason != "" {
			e.refuse(s, reason)
			return
		}
		e.startChange(s)
		return
	}
	if act, ok := strings.CutPrefix(s.in.Choice, "r:"); ok {
		if reason != "" {
			e.refuse(s, reason)
			return
		}
		act, _, _ = strings.Cut(act, "|")
		e.reminderChoice(ctx, s, act)
		return
	}
	if s.in.Choice == "" {
		// by its shape, or because it is the password a page set minutes ago: never taken,
		// never stored, never logged; the conversation (and any link) stays as it is
		why := ""
		if LooksLikePassword(s.in.Chat.Locale, s.in.Text) {
			why = "shape"
		} else if e.typesNewPassword(ctx, s) {
			why = "page_password" // the password a page set minutes ago
		}
		if why != "" {
			s.say(MsgPasswordTyped)
			if s.sess != nil {
				s.replies[len(s.replies)-1].Text += " " + e.whereNow(s)
			}
			s.audit("password_typed", "refused", why)
			return
		}
	}
	if s.in.Choice == "" && reason == "" {
		// the live method menu takes its numbers and the methods' names
		if k, ok := e.typedPick(s); ok {
			e.pickTyped(ctx, s, k)
			return
		}
	}
	earlier := false // a method button of an earlier menu of this conversation
	if s.in.Choice != "" {
		var ok bool
		act, arg, ok = e.parseChoice(s)
		if !ok {
			if act, arg, earlier = e.earlierMethodChoice(s); !earlier {
				s.say(MsgStaleButton)
				return
			}
		}
	} else {
		// the reply speaks the language the message was written in
		intent, s.in.Chat.Locale = Understand(s.in.Chat.Locale, s.in.Text)
	}
	switch intent {
	case IntentHelp:
		s.say(MsgHelp)
		s.replies[len(s.replies)-1].Text = e.withHint(s.in.Chat.Locale, s.replies[len(s.replies)-1].Text)
		if s.sess != nil && reason == "" {
			// what to do at this step first, then everything the bot can do
			r := &s.replies[len(s.replies)-1]
			r.Text = e.whereNow(s) + "\n\n" + r.Text
		}
		return
	case IntentGreeting:
		s.say(MsgGreeting)
		return
	case IntentThanks:
		s.say(MsgThanks)
		return
	}
	if intent == IntentCancel {
		if s.sess == nil {
			s.say(MsgNothingToCancel)
			return
		}
		s.commit.KeepSession = false
		s.say(MsgCancelled)
		s.audit("cancel", "ok", "")
		return
	}
	if reason != "" {
		e.refuse(s, reason)
		return
	}
	switch intent {
	case IntentStatus:
		e.status(s)
		return
	case IntentReset, IntentUnlock:
		e.startVerify(ctx, s, intent)
		return
	case IntentRegister:
		if len(s.pol.Usable(s.acct, s.snap.Enrollment)) < s.pol.RequiredFor(s.acct) && e.lockedForRegistration(ctx, s.acct) {
			s.say(MsgLockedUnregistered, s.pol.HelpdeskURL, s.acct.UPN)
			s.audit("register_start", "refused", "locked_not_registered")
			return
		}
		e.startRegister(s)
		return
	case IntentResend:
		e.resend(ctx, s)
		return
	}
	if earlier {
		e.pickEarlier(ctx, s, MethodKind(arg))
		return
	}
	if act != "" {
		e.choose(ctx, s, act, arg)
		return
	}
	if s.sess == nil {
		if intent == IntentCode {
			e.notUnderstood(s)
			return
		}
		e.unknown(s)
		return
	}
	switch s.sess.State {
	case StateAwaitCode:
		if intent == IntentCode {
			e.checkCode(ctx, s)
			return
		}
		e.unknown(s)
	case StateChooseMethod:
		s.say(MsgUseButtons)
		s.replies[len(s.replies)-1].Choices = e.methodChoices(s, s.sess, s.sess.Version)
	case StateResetLink, StateRegisterLink, StateAdminLink, StateChangeLink:
		// no options are shown at a link: what the bot understood, then what to do here
		e.unknown(s)
		r := &s.replies[len(s.replies)-1]
		r.Text += " " + e.whereNow(s)
	default:
		// An unknown state (an older release, a corrupted record): start over politely.
		s.commit.KeepSession = false
		s.say(MsgExpired)
	}
}

func (e *Engine) unknown(s *step) {
	if looksSecret(s.in.Text) {
		s.say(MsgNoSecretsHere)
		return
	}
	e.notUnderstood(s)
}

// notUnderstood offers the closest thing the bot can do instead of a bare "didn't understand".
func (e *Engine) notUnderstood(s *step) {
	s.say(MsgNotUnderstood, Suggest(s.in.Chat.Locale, s.in.Text))
}

// looksSecret spots an email address, a phone number or a password-like token typed in chat.
func looksSecret(t string) bool {
	if strings.Contains(t, "@") {
		return true
	}
	digits := len(CodeDigits(t))
	return digits >= 9 && digits <= 15 && strings.ContainsAny(t, "+()-")
}

// refuse gives the single helpdesk reply every ineligible state gets. The session, if any, is
// removed, so every such state writes the same.
func (e *Engine) refuse(s *step, reason string) {
	if reason == "blocked" && s.sess != nil {
		s.replies = append(s.replies, e.blockedNow(s, s.snap.Enrollment.BlockedUntil))
	} else {
		s.say(MsgHelpdesk, s.pol.HelpdeskURL)
	}
	s.commit.KeepSession = false
	s.audit("refused", "refused", reason)
}

// actor is the chat identity the step is for (steps built outside Handle have no chatKey).
func (s *step) actor() string {
	if s.chatKey == "" {
		s.chatKey = s.in.Chat.Key()
	}
	return s.chatKey
}

func (s *step) audit(action, outcome, reason string) {
	s.audits = append(s.audits, AuditEvent{Time: s.now, Actor: s.actor(), Subject: s.acct.ID,
		Platform: s.in.Chat.Platform, Action: action, Outcome: outcome, Reason: reason})
}

func (e *Engine) audit(ctx context.Context, a AuditEvent) {
	if e.d.Audit != nil {
		e.d.Audit.Audit(ctx, a)
	}
}

// newSession starts a session; it is saved by the commit with the next version.
func (e *Engine) newSession(s *step, f Flow, st State) *Session {
	// 16 random bytes, then their base64 in the same buffer (Rand, an io.Reader, puts the bytes
	// on the heap wherever they are): the id is one more allocation
	b := make([]byte, 16, 16+base64.RawURLEncoding.EncodedLen(16))
	_, _ = e.d.Rand.Read(b)
	n := &Session{
		ID: string(base64.RawURLEncoding.AppendEncode(b, b)[16:]), State: st, Flow: f, UserID: s.acct.ID,
		Chat: s.in.Chat, CreatedAt: s.now, ExpiresAt: s.now.Add(SessionLifetime),
	}
	e.save(s, n)
	return n
}

// save schedules sess to be written with the next version.
func (e *Engine) save(s *step, sess *Session) {
	sess.Version = s.commit.ExpectVersion + 1
	s.commit.Session = sess
	s.commit.KeepSession = false
}

func (e *Engine) status(s *step) {
	loc := s.in.Chat.Locale
	names := s.snap.Enrollment.Described(s.in.Chat.Locale)
	reg := Text(loc, MsgStatusNothing)
	if len(names) > 0 {
		// how many ways are registered, of how many the policy needs
		p := progressOf(s.pol, s.acct, s.snap.Enrollment)
		reg = Text(loc, MsgStatusShort, p.Have, p.Need, strings.Join(names, ", "))
		if p.Met {
			reg = Text(loc, MsgStatusRegistered, p.Have, p.Need, strings.Join(names, ", "))
		}
	}
	if s.sess == nil {
		s.say(MsgStatusIdle, reg)
		return
	}
	s.say(MsgStatusSession, reg, e.whereNow(s))
}

// whereNow says in a sentence where the person is and what to do next.
func (e *Engine) whereNow(s *step) string {
	loc, sess := s.in.Chat.Locale, s.sess
	if sess == nil {
		return Text(loc, MsgStepNone)
	}
	want := Text(loc, MsgDoReset)
	if sess.Flow == FlowUnlock && e.unlockable(s.acct) {
		want = Text(loc, MsgDoUnlock)
	}
	switch sess.State {
	case StateChooseMethod:
		return Text(loc, MsgStepChoose, want, len(sess.Proven), s.pol.RequiredFor(s.acct))
	case StateAwaitCode:
		if sess.Method == MethodQuestions {
			return Text(loc, MsgStepQuestions, want)
		}
		if sess.Method == MethodPasskey {
			return Text(loc, MsgStepPasskey, want)
		}
		return Text(loc, MsgStepCode, want, methodNoun(loc, sess.Method))
	case StateResetLink:
		return Text(loc, MsgStepResetLink)
	case StateRegisterLink:
		return Text(loc, MsgStepRegisterLink)
	case StateAdminLink:
		return Text(loc, MsgStepAdminLink)
	case StateChangeLink:
		return Text(loc, MsgStepChangeLink)
	}
	return Text(loc, MsgStepNone)
}

// parseChoice splits "action:arg|session|version" and refuses stale buttons.
func (e *Engine) parseChoice(s *step) (act, arg string, ok bool) {
	parts := strings.Split(s.in.Choice, "|")
	if len(parts) != 3 || s.sess == nil || parts[1] != s.sess.ID {
		return "", "", false
	}
	v, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || v != s.sess.Version {
		return "", "", false
	}
	act, arg, _ = strings.Cut(parts[0], ":")
	return act, arg, true
}

func choiceID(sess *Session, version int64, act, arg string) string {
	return act + ":" + arg + "|" + sess.ID + "|" + strconv.FormatInt(version, 10)
}

// addDirectoryMethods offers the directory's own contact methods where the user registered none
// of that kind, phones only in allowed countries. A directory failure only means fewer methods.
func (e *Engine) addDirectoryMethods(ctx context.Context, s *step) {
	src := e.caps.Contacts
	if src == nil {
		return
	}
	ms, err := src.ContactMethods(ctx, s.acct.ID)
	if err != nil {
		e.d.Log.WarnContext(ctx, "directory contact methods unavailable", "err", err, "user", s.acct.ID)
		return
	}
	if s.snap.Enrollment.Methods == nil {
		s.snap.Enrollment.Methods = map[MethodKind]Registered{}
	}
	for _, m := range ms {
		if _, have := s.snap.Enrollment.Methods[m.Kind]; have {
			continue
		}
		if m.Kind == MethodSMS || m.Kind == MethodVoice {
			n, err := ParsePhone(m.Address, s.pol.PhoneCountries)
			if err != nil {
				continue
			}
			m.Address = n
		}
		m.RegisteredAt = s.now
		s.snap.Enrollment.Methods[m.Kind] = m
	}
}

// noticeLocale is the language and time zone of what is sent to a outside a reply: the
// conversation's when one is under way (WithLang), else the one remembered for them, else the
// policy's default language in UTC.
func (e *Engine) noticeLocale(ctx context.Context, a Account, pol Policy) (string, *time.Location) {
	var kept PersonLocale
	if e.d.Locales != nil && a.ID != "" {
		l, err := e.d.Locales.PersonLocale(ctx, a.ID)
		if err != nil {
			e.d.Log.WarnContext(ctx, "person's language unknown", "err", err, "user", a.ID)
		}
		kept = l
	}
	return e.localeOf(ctx, kept, pol)
}

// localeOf is noticeLocale of the pair kept for the person (the zero value when unknown).
func (e *Engine) localeOf(ctx context.Context, kept PersonLocale, pol Policy) (string, *time.Location) {
	lang := LangFrom(ctx)
	if lang == "" {
		lang = kept.Lang
	}
	if lang == "" {
		lang = Lang(pol.Language)
	}
	return lang, ChatRef{TimeZone: kept.TimeZone}.Location()
}

// localeToRemember is the person's chat language and time zone when this process has not kept
// them yet (or they changed): the step's commit keeps them, for what is sent outside the
// conversation (finish notes them as kept once the commit is done).
func (e *Engine) localeToRemember(userID string, chat ChatRef) *PersonLocale {
	if e.d.Locales == nil || userID == "" || chat.Locale == "" {
		return nil
	}
	l := PersonLocale{Lang: Lang(chat.Locale), TimeZone: chat.TimeZone}
	if old, ok := e.locales.Load(userID); ok && old.(PersonLocale) == l {
		return nil
	}
	kept := l // on the heap only when kept: l stays on the stack
	return &kept
}
