package flows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// startVerify begins a reset or unlock: it checks registration and offers the methods.
func (e *Engine) startVerify(ctx context.Context, s *step, intent Intent) {
	flow := FlowReset
	if intent == IntentUnlock {
		flow = FlowUnlock
		if !(s.pol.AllowUnlock && e.unlockable(s.acct)) && !s.pol.AllowReset {
			s.say(MsgHelpdesk, s.pol.HelpdeskURL)
			return
		}
	} else if !s.pol.AllowReset {
		s.say(MsgHelpdesk, s.pol.HelpdeskURL)
		return
	}
	need := s.pol.RequiredFor(s.acct)
	usable := s.pol.Usable(s.acct, s.snap.Enrollment)
	if s.pol.Enough(s.acct, usable) {
		need = min(need, len(usable)) // a passkey alone may do
	}
	if len(usable) < need && e.lockedForRegistration(ctx, s.acct) {
		s.say(MsgLockedUnregistered, s.pol.HelpdeskURL, s.acct.UPN)
		s.audit("verify_start", "refused", "locked_not_registered")
		return
	}
	if len(usable) < need {
		s.say(MsgMustRegister, need, s.pol.HelpdeskURL)
		s.audit("verify_start", "refused", "not_registered")
		return
	}
	if anyDue(s, usable) {
		s.say(MsgReconfirmDue, s.pol.ReconfirmDays)
		e.startRegister(s)
		s.audit("verify_start", "refused", "reconfirm_due")
		return
	}
	if flow == FlowUnlock && !e.unlockable(s.acct) {
		unlockNotice(s)
	}
	sess := e.newSession(s, flow, StateChooseMethod)
	text := MsgChooseMethod
	if flow == FlowUnlock && e.unlockable(s.acct) {
		text = MsgChooseUnlock // an unlock is introduced as an unlock
	}
	s.replies = append(s.replies, Reply{MsgID: MsgChooseMethod, Private: true,
		Text: Text(s.in.Chat.Locale, text, proofs(s.in.Chat.Locale, need)), Choices: e.methodChoices(s, sess, sess.Version)})
	s.audit("verify_start", "ok", string(flow))
}

// menuMethods are the methods of the conversation's menu in a fixed order: a method's number
// is its place here, so it keeps it while others are proven.
func (e *Engine) menuMethods(s *step) []MethodKind {
	var out []MethodKind
	for _, m := range s.pol.Usable(s.acct, s.snap.Enrollment) {
		if e.methods[m] != nil {
			out = append(out, m)
		}
	}
	return out
}

// methodChoices offers the usable methods not yet proven in sess, each under its number.
func (e *Engine) methodChoices(s *step, sess *Session, version int64) []Choice {
	var out []Choice
	for i, m := range e.menuMethods(s) {
		if sess.HasProven(m) {
			continue
		}
		r := s.snap.Enrollment.Methods[m]
		r.Kind = m
		out = append(out, Choice{ID: choiceID(sess, version, "m", string(m)), Label: Describe(s.in.Chat.Locale, r), Key: strconv.Itoa(i + 1)})
	}
	return out
}

// typedPick reads a method picked by typing its number or name while a method menu is live.
func (e *Engine) typedPick(s *step) (MethodKind, bool) {
	sess := s.sess
	if sess == nil || (sess.State != StateChooseMethod && sess.State != StateAwaitCode) {
		return "", false
	}
	ms := e.menuMethods(s)
	t := strings.TrimSpace(s.in.Text)
	if n, err := strconv.Atoi(strings.TrimRight(t, ".)")); err == nil && len(t) <= 3 {
		if n >= 1 && n <= len(ms) {
			return ms[n-1], true
		}
		return "", false
	}
	k, ok := MethodNamed(s.in.Chat.Locale, t)
	if !ok {
		return "", false
	}
	for _, m := range ms {
		if m == k {
			return k, true
		}
	}
	return "", false
}

// pickTyped acts on a typed menu pick: the method being proven again is a resend, a method
// already proven gets the menu again, any other starts its proof.
func (e *Engine) pickTyped(ctx context.Context, s *step, k MethodKind) {
	switch {
	case s.sess.HasProven(k):
		s.say(MsgChooseMethodAgain)
		s.replies[len(s.replies)-1].Choices = e.methodChoices(s, s.sess, s.sess.Version)
	case s.sess.State == StateAwaitCode && s.sess.Method == k:
		e.resend(ctx, s)
	default:
		e.choose(ctx, s, "m", string(k))
	}
}

// earlierMethodChoice reads a method button from an earlier menu of the live conversation (the
// same session, an older version): a method keeps its number and its button all conversation,
// so such a button is a pick like its typed name. Any other old button stays refused.
func (e *Engine) earlierMethodChoice(s *step) (act, arg string, ok bool) {
	parts := strings.Split(s.in.Choice, "|")
	if len(parts) != 3 || s.sess == nil || parts[1] != s.sess.ID ||
		(s.sess.State != StateChooseMethod && s.sess.State != StateAwaitCode) {
		return "", "", false
	}
	act, arg, _ = strings.Cut(parts[0], ":")
	return act, arg, act == "m" && MethodKind(arg) != ""
}

// pickEarlier acts on a method button from an earlier menu. The method whose code is on its
// way is not sent again (a double click must not send two codes, one of which would then be
// wrong): the person is told what to do, "resend" included. Any other is a typed pick.
func (e *Engine) pickEarlier(ctx context.Context, s *step, k MethodKind) {
	if s.sess.State == StateAwaitCode && s.sess.Method == k {
		s.replies = append(s.replies, Reply{MsgID: MsgStepCode, Text: e.whereNow(s), Private: true})
		return
	}
	for _, m := range e.menuMethods(s) {
		if m == k {
			e.pickTyped(ctx, s, k)
			return
		}
	}
	s.say(MsgStaleButton)
}

// choose handles a button: picking a method.
func (e *Engine) choose(ctx context.Context, s *step, act, arg string) {
	sess := s.sess
	if act != "m" || (sess.State != StateChooseMethod && sess.State != StateAwaitCode) {
		s.say(MsgStaleButton)
		return
	}
	kind := MethodKind(arg)
	m := e.methods[kind]
	usable := false
	for _, u := range s.pol.Usable(s.acct, s.snap.Enrollment) {
		usable = usable || u == kind
	}
	if m == nil || !usable || sess.HasProven(kind) {
		s.say(MsgStaleButton)
		return
	}
	ch, err := m.Challenge(ctx, s.acct, s.snap.Enrollment, s.pol, sess.ID, s.now)
	if err != nil {
		s.say(MsgTrouble, s.pol.HelpdeskURL)
		e.d.Log.ErrorContext(ctx, "challenge failed", "err", err, "method", kind)
		return
	}
	next := *sess
	next.State, next.Method = StateAwaitCode, kind
	if ch.Code != nil {
		lim := s.pol.Limits
		s.commit.CountSend = &lim
		s.commit.PutCode = ch.Code
	}
	var link string
	if ch.Link != "" {
		if link, err = e.grantLink(s, &next, ch.Link); err != nil {
			s.say(MsgTrouble, s.pol.HelpdeskURL)
			return
		}
	}
	e.save(s, &next)
	s.onOutcome = func(o Outcome) []Reply {
		if o.Status == LimitReached {
			s.after = nil
			return []Reply{s.reply(MsgTooManyCodes)}
		}
		r := s.reply(ch.Msg, ch.MsgArgs...)
		r.Link = link
		if s.resending {
			if more := others(e.methodChoices(s, &next, o.Version), kind); len(more) > 0 {
				o := s.reply(MsgOrAnother)
				o.Choices = more
				return []Reply{r, o}
			}
		}
		return []Reply{r}
	}
	if ch.Send != nil {
		// the send is audited by its result: a mail relay or SMS provider that is down shows
		// in the audit log as what failed
		s.after = append(s.after, func(ctx context.Context) error {
			if err := ch.Send(ctx); err != nil {
				reason := string(kind) + ": provider unavailable"
				if errors.Is(err, ErrBudget) {
					reason = string(kind) + ": hourly budget spent"
				}
				s.audit("code_sent", "failed", reason)
				return err
			}
			s.audit("code_sent", "ok", string(kind))
			return nil
		})
	}
}

func (s *step) reply(id MsgID, args ...any) Reply {
	return Reply{MsgID: id, Text: Text(s.in.Chat.Locale, id, args...), Private: true}
}

// checkCode judges a typed code. The attempt is counted by the commit before it can be
// accepted, per directory user across every session and platform.
func (e *Engine) checkCode(ctx context.Context, s *step) {
	sess := s.sess
	m := e.methods[sess.Method]
	if m == nil {
		s.say(MsgStaleButton)
		return
	}
	p := m.Check(s.acct, s.snap.Enrollment, sess.ID, s.snap.Code, s.in.Text, s.now)
	if p.Expired {
		next := *sess
		next.State, next.Method = StateChooseMethod, ""
		e.save(s, &next)
		s.say(MsgCodeExpired)
		s.replies[len(s.replies)-1].Choices = e.methodChoices(s, &next, next.Version)
		return
	}
	s.commit.Attempt = &Attempt{Method: sess.Method, Correct: p.Correct, CodeMAC: p.CodeMAC, TOTPStep: p.Step, Limits: s.pol.Limits,
		Once: p.Once, Update: p.Update}
	e.refusedProof(ctx, s, p)
	next := *sess
	next.Proven = append(append([]MethodKind(nil), sess.Proven...), sess.Method)
	var link string
	done := s.pol.Enough(s.acct, next.Proven)
	unlock := done && sess.Flow == FlowUnlock && s.pol.AllowUnlock && e.unlockable(s.acct)
	switch {
	case !done:
		next.State, next.Method = StateChooseMethod, ""
		e.save(s, &next)
	case unlock && !s.pol.AllowReset:
		s.commit.Session, s.commit.KeepSession = nil, false // the unlock ends the conversation
	default:
		next.State, next.Method = StateResetLink, ""
		var err error
		link, err = e.grantLink(s, &next, PurposeReset)
		if err != nil {
			s.say(MsgTrouble, s.pol.HelpdeskURL)
			return
		}
		e.save(s, &next)
	}
	method := sess.Method
	s.onOutcome = func(o Outcome) []Reply {
		switch o.Status {
		case Committed:
			s.audit("verify", "ok", string(method))
			if unlock {
				s.after = append(s.after, func(ctx context.Context) error { return e.unlockNow(ctx, s, link) })
				return nil
			}
			if next.State == StateResetLink {
				s.audit("link_issued", "ok", string(PurposeReset))
				r := s.reply(MsgResetLink)
				r.Link = link
				return []Reply{r}
			}
			r := s.reply(MsgProvenMore)
			r.Choices = e.methodChoices(s, &next, o.Version)
			return []Reply{r}
		case Blocked:
			s.audit("verify", "blocked", string(method))
			return []Reply{e.blockedNow(s, o.BlockedUntil)}
		default:
			s.audit("verify", "failed", string(method))
			if !o.BlockedUntil.IsZero() && s.now.Before(o.BlockedUntil) {
				s.audit("block", "ok", fmt.Sprintf("until %s", o.BlockedUntil.UTC().Format("2006-01-02T15:04Z")))
				return []Reply{e.blockedNow(s, o.BlockedUntil)}
			}
			id := MsgCodeWrong
			switch {
			case method == MethodQuestions:
				id = MsgAnswersWrong
			case method == MethodPasskey:
				id = MsgPasskeyWrong
			case p.Reused || p.Correct && p.Step > 0:
				// the right code of a step already accepted: not a wrong guess, but still counted
				id = MsgCodeUsed
			}
			r := s.reply(id)
			if left := o.TriesLeft(s.pol.Limits); left == 1 || left == 2 {
				r.Text += " " + Text(s.in.Chat.Locale, MsgTriesLeft, left) // the language's plural rules
			}
			r.Choices = e.methodChoices(s, sess, sess.Version)
			return []Reply{r}
		}
	}
}

// Complete reports whether proven is enough: the number required, and never security questions
// alone.
func Complete(proven []MethodKind, need int) bool {
	if len(proven) < need {
		return false
	}
	for _, m := range proven {
		if m != MethodQuestions {
			return true
		}
	}
	return false
}

// blockedNow says until when self-service is paused, in the person's time zone, and how to
// reach the helpdesk. A block this step set is also emailed to the person's addresses, so they
// learn of it outside the chat.
func (e *Engine) blockedNow(s *step, until time.Time) Reply {
	if until.IsZero() {
		until = s.snap.Enrollment.BlockedUntil
	}
	if until.IsZero() || !s.now.Before(until) {
		return s.reply(MsgBlocked, s.pol.HelpdeskURL)
	}
	when := FormatWhen(s.in.Chat.Locale, until, s.in.Chat.Location())
	if !IsBlocked(s.snap.Enrollment, s.now) {
		acct, lang := s.acct, s.in.Chat.Locale
		s.after = append(s.after, func(ctx context.Context) error {
			e.mailUser(ctx, acct, Text(lang, "mail.paused.subject"), Text(lang, "mail.paused.body", acct.DisplayName, when, s.pol.HelpdeskURL))
			return nil
		})
	}
	return s.reply(MsgBlockedUntil, when, s.pol.HelpdeskURL)
}

// resend sends a new code for the method being proven (counted as a send, never as a failed
// try, within the send limits) and offers the other methods.
func (e *Engine) resend(ctx context.Context, s *step) {
	sess := s.sess
	switch {
	case sess == nil:
		s.say(MsgNothingToResend)
	case sess.State == StateChooseMethod:
		s.say(MsgChooseMethodAgain)
		s.replies[len(s.replies)-1].Choices = e.methodChoices(s, sess, sess.Version)
	case sess.State != StateAwaitCode:
		s.say(MsgNothingToResend)
	case sess.Method == MethodTOTP:
		s.say(MsgTOTPNotSent)
		s.replies[len(s.replies)-1].Choices = others(e.methodChoices(s, sess, sess.Version), sess.Method)
	default:
		s.resending = true
		e.choose(ctx, s, "m", string(sess.Method))
	}
}

// others drops the choice of method m.
func others(cs []Choice, m MethodKind) []Choice {
	out := cs[:0:0]
	for _, c := range cs {
		if !strings.HasPrefix(c.ID, "m:"+string(m)+"|") {
			out = append(out, c)
		}
	}
	return out
}

// proofs says a number of proofs in words: "one proof", "2 proofs".
func proofs(locale string, n int) string {
	if n == 1 {
		return Text(locale, MsgProofOne)
	}
	return Text(locale, MsgProofMany, n)
}

// lockedForRegistration reports whether the account is locked out in AD while registering
// would need its AD password (deployments without Entra sign-in): then the registration page
// could not sign the person in, and sending them there would only send them back to chat.
// The account is cached in process for IdentityTTL, so a lockout it shows is confirmed live
// (an unlock by the helpdesk takes effect at once).
func (e *Engine) lockedForRegistration(ctx context.Context, a Account) bool {
	if !a.Locked || !e.PasswordSignInAvailable() {
		return false
	}
	if u := e.caps.Unlocker; u != nil {
		if locked, _, err := u.LockedOut(ctx, a.ID); err == nil {
			return locked
		}
	}
	return true
}
