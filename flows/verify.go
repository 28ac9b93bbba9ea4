package flows

import (
	"context"
	"errors"
	"fmt"
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
	s.say(MsgChooseMethod, need)
	s.replies[len(s.replies)-1].Choices = e.methodChoices(s, sess, sess.Version)
	s.audit("verify_start", "ok", string(flow))
}

// methodChoices offers the usable methods not yet proven in sess.
func (e *Engine) methodChoices(s *step, sess *Session, version int64) []Choice {
	var out []Choice
	for _, m := range s.pol.Usable(s.acct, s.snap.Enrollment) {
		if sess.HasProven(m) || e.methods[m] == nil {
			continue
		}
		r := s.snap.Enrollment.Methods[m]
		r.Kind = m
		out = append(out, Choice{ID: choiceID(sess, version, "m", string(m)), Label: Describe(r)})
	}
	return out
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
	s.commit.Attempt = &Attempt{Method: sess.Method, Correct: p.Correct, CodeMAC: p.CodeMAC, TOTPStep: p.Step, Limits: s.pol.Limits}
	next := *sess
	next.Proven = append(append([]MethodKind(nil), sess.Proven...), sess.Method)
	var link string
	done := Complete(next.Proven, s.pol.RequiredFor(s.acct))
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
			return []Reply{s.reply(MsgBlocked, s.pol.HelpdeskURL)}
		default:
			s.audit("verify", "failed", string(method))
			if !o.BlockedUntil.IsZero() && s.now.Before(o.BlockedUntil) {
				s.audit("block", "ok", fmt.Sprintf("until %s", o.BlockedUntil.UTC().Format("2006-01-02T15:04Z")))
				return []Reply{s.reply(MsgBlocked, s.pol.HelpdeskURL)}
			}
			id := MsgCodeWrong
			if method == MethodQuestions {
				id = MsgAnswersWrong
			}
			r := s.reply(id)
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

// lockedForRegistration reports whether the account is locked out in AD while registering
// would need its AD password (deployments without Entra sign-in): then the registration page
// could not sign the person in, and sending them there would only send them back to chat.
// The account is cached in process for IdentityTTL, so a lockout it shows is confirmed live
// (an unlock by the helpdesk takes effect at once).
func (e *Engine) lockedForRegistration(ctx context.Context, a Account) bool {
	if !a.Locked || !e.PasswordSignInAvailable() {
		return false
	}
	if u, ok := e.d.Directory.(Unlocker); ok {
		if locked, _, err := u.LockedOut(ctx, a.ID); err == nil {
			return locked
		}
	}
	return true
}
