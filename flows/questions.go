package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Prompter is a method answered on a page: it says what the page asks for a pending challenge.
type Prompter interface {
	Prompts(e Enrollment, stored StoredCode) ([]string, bool)
}

// QuestionRegistrar registers security questions from the page.
type QuestionRegistrar interface {
	Choices(pol Policy) []string
	Register(ctx context.Context, pol Policy, qs, answers []string) (Registered, error)
}

// QuestionSetup says what the registration page offers.
type QuestionSetup struct {
	Choices []string
	Count   int
}

// ErrBlocked: self-service is blocked for the user.
var ErrBlocked = errors.New("blocked")

// QuestionChoices lists the questions a user may register under the policy.
func (e *Engine) QuestionChoices(ctx context.Context, ws *WebState) (QuestionSetup, error) {
	if err := e.signedIn(ws); err != nil {
		return QuestionSetup{}, err
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return QuestionSetup{}, err
	}
	r, ok := e.methods[MethodQuestions].(QuestionRegistrar)
	if !ok || !pol.Allows(MethodQuestions) {
		return QuestionSetup{}, ErrBadRequest
	}
	return QuestionSetup{Choices: r.Choices(pol), Count: pol.QuestionsToRegister}, nil
}

// RegisterQuestions registers the signed-in user's security questions.
func (e *Engine) RegisterQuestions(ctx context.Context, ws *WebState, qs, answers []string) error {
	if err := e.signedIn(ws); err != nil {
		return err
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return err
	}
	r, ok := e.methods[MethodQuestions].(QuestionRegistrar)
	if !ok || !pol.Allows(MethodQuestions) {
		return ErrBadRequest
	}
	reg, err := r.Register(ctx, pol, qs, answers)
	if err != nil {
		return err
	}
	reg.RegisteredAt = e.d.Clock.Now()
	if err := e.d.Enrollments.Register(ctx, ws.UserID, reg, 0); err != nil {
		return fmt.Errorf("flows: register questions: %w", err)
	}
	e.audit(ctx, AuditEvent{Time: reg.RegisteredAt, Actor: ws.ChatKey, Subject: ws.UserID, Action: "register", Outcome: "ok", Reason: string(MethodQuestions)})
	if acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID}); err == nil {
		e.announce(ctx, acct, reg)
	}
	return nil
}

// OpenQuestions returns the questions a live questions link asks (GET: nothing is consumed).
func (e *Engine) OpenQuestions(ctx context.Context, token string) ([]string, error) {
	v, err := e.OpenLink(ctx, token)
	if err != nil || v.Purpose != PurposeQuestions || v.Session.State != StateAwaitCode || v.Session.Method != MethodQuestions {
		return nil, ErrLinkGone
	}
	snap, err := e.d.Sessions.Load(ctx, v.UserID, v.Session.Chat.Key())
	if err != nil {
		return nil, err
	}
	p, ok := e.methods[MethodQuestions].(Prompter)
	if !ok {
		return nil, ErrLinkGone
	}
	qs, ok := p.Prompts(snap.Enrollment, snap.Code)
	if !ok {
		return nil, ErrLinkGone
	}
	return qs, nil
}

// AnswerQuestions consumes a questions link (POST) and judges the answers as one counted
// attempt, exactly as a code typed in chat; the chat is told what comes next.
func (e *Engine) AnswerQuestions(ctx context.Context, token string, answers []string) (bool, error) {
	r, err := e.AnswerQuestionsOnPage(ctx, token, answers)
	return r.OK, err
}

// PageResult is what answering a proof on its one-time page (security questions, a passkey)
// led to.
type PageResult struct {
	OK bool // the proof was accepted
	// Recovery: the proof was asked for by the recovery page, not a chat; the page carries on
	// there, and Link is the new-password page when the proof completed the verification.
	Recovery bool
	Link     string
}

// QuestionsResult is what answering the security questions on their page led to.
type QuestionsResult = PageResult

// AnswerQuestionsOnPage is AnswerQuestions for the page: a chat is told what comes next, the
// recovery page is given it.
func (e *Engine) AnswerQuestionsOnPage(ctx context.Context, token string, answers []string) (QuestionsResult, error) {
	body, _ := json.Marshal(answers)
	return e.answerOnPage(ctx, token, PurposeQuestions, MethodQuestions, string(body), "questions:")
}

// answerOnPage consumes a one-time page's link (POST) and judges what the page sent as one
// counted attempt of method, exactly as a code typed in chat; a chat is told what comes next,
// the recovery page is given it.
func (e *Engine) answerOnPage(ctx context.Context, token string, p Purpose, method MethodKind, answer, idem string) (PageResult, error) {
	v, err := e.consumeLink(ctx, token, p, func(s *Session) *Session {
		n := *s
		n.Version++
		return &n
	})
	if err != nil {
		return PageResult{}, err
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return PageResult{}, err
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: v.UserID})
	if err != nil {
		return PageResult{}, fmt.Errorf("flows: %s lookup: %w", method, err)
	}
	chat := v.Session.Chat
	snap, err := e.d.Sessions.Load(ctx, v.UserID, chat.Key())
	if err != nil {
		return PageResult{}, err
	}
	if snap.Session == nil || snap.Session.State != StateAwaitCode || snap.Session.Method != method {
		return PageResult{}, ErrLinkGone
	}
	now := e.d.Clock.Now()
	s := &step{in: Inbound{Chat: chat, Text: answer, IdemKey: idem + v.mac[:32]}, now: now,
		pol: pol, acct: acct, subject: v.UserID, snap: snap, sess: snap.Session}
	s.commit = Commit{Subject: v.UserID, ChatKey: chat.Key(), IdemKey: s.in.IdemKey, Now: now, KeepSession: true,
		ExpectVersion: snap.Session.Version}
	if IsBlocked(snap.Enrollment, now) {
		return PageResult{}, ErrBlocked
	}
	e.checkCode(ctx, s)
	accepted := false
	if judge := s.onOutcome; judge != nil {
		s.onOutcome = func(o Outcome) []Reply {
			accepted = o.Status == Committed
			return judge(o)
		}
	}
	replies, err := e.finish(ctx, s, "")
	if err != nil {
		return PageResult{}, err
	}
	out := PageResult{OK: accepted, Recovery: chat.Platform == RecoverPlatform}
	if out.Recovery {
		for _, r := range replies {
			if r.MsgID == MsgResetLink {
				out.Link = r.Link
			}
		}
		return out, nil
	}
	if e.d.Notifier != nil && len(replies) > 0 {
		if err := e.notify(ctx, v.UserID, chat, replies); err != nil {
			e.d.Log.ErrorContext(ctx, "chat notice failed", "err", err)
		}
	}
	return out, nil
}
