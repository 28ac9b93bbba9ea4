package flows

import (
	"context"
	"fmt"
	"time"
)

// Blocks lists the users whose self-service is blocked now.
func (e *Engine) Blocks(ctx context.Context) ([]Block, error) {
	return e.d.Enrollments.Blocked(ctx, e.d.Clock.Now())
}

// Unblock clears a user's block and attempt counters; actor is who did it (audited).
func (e *Engine) Unblock(ctx context.Context, actor, userID string) error {
	if err := e.d.Enrollments.Unblock(ctx, userID); err != nil {
		return err
	}
	e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: actor, Subject: userID, Action: "unblock", Outcome: "ok"})
	return nil
}

// MethodView is one registered method as the page shows it.
type MethodView struct {
	Kind  MethodKind
	Label string
	Due   bool // reconfirmation is due
}

// MethodViews lists the signed-in user's registered methods with their reconfirmation state.
func (e *Engine) MethodViews(ctx context.Context, userID string) ([]MethodView, error) {
	en, err := e.d.Enrollments.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return nil, err
	}
	now := e.d.Clock.Now()
	var out []MethodView
	for _, m := range AllMethods {
		if r, ok := en.Methods[m]; ok {
			r.Kind = m
			out = append(out, MethodView{Kind: m, Label: Describe(r), Due: reconfirmDue(r, pol, now)})
		}
	}
	return out, nil
}

func reconfirmDue(r Registered, pol Policy, now time.Time) bool {
	// a passkey proves itself with every signature: nothing to reconfirm
	return r.Kind != MethodPasskey && pol.ReconfirmDays > 0 && !r.RegisteredAt.IsZero() && !now.Before(r.RegisteredAt.AddDate(0, 0, pol.ReconfirmDays))
}

// anyDue reports whether a usable registered method needs reconfirming before a reset.
func anyDue(s *step, usable []MethodKind) bool {
	for _, m := range usable {
		if reconfirmDue(s.snap.Enrollment.Methods[m], s.pol, s.now) {
			return true
		}
	}
	return false
}

// RemoveMethod removes one of the signed-in user's methods and announces it outside the chat.
func (e *Engine) RemoveMethod(ctx context.Context, ws *WebState, kind MethodKind) error {
	if err := e.signedIn(ws); err != nil {
		return err
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return fmt.Errorf("flows: remove lookup: %w", err)
	}
	// announce first, while a removed email address can still be told
	pol := e.policyOrDefault(ctx, "removal notice")
	now := e.d.Clock.Now()
	e.mailUser(ctx, acct, "A verification method was removed from your account",
		fmt.Sprintf("Hello %s,\n\n%s was removed from self-service password reset on %s.\n\n"+
			"If this wasn't you, contact the helpdesk now: %s\n", acct.DisplayName, methodLabel(kind),
			now.UTC().Format("2 Jan 2006 15:04 MST"), pol.HelpdeskURL))
	if err := e.d.Enrollments.Remove(ctx, ws.UserID, kind); err != nil {
		return err
	}
	e.audit(ctx, AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: "remove", Outcome: "ok", Reason: string(kind)})
	return nil
}

// BeginReconfirm starts proving that a registered method still works: a code sent to the same
// destination, or the current code of the same authenticator app.
func (e *Engine) BeginReconfirm(ctx context.Context, ws *WebState, kind MethodKind) (EnrolShow, error) {
	if err := e.signedIn(ws); err != nil {
		return EnrolShow{}, err
	}
	en, err := e.d.Enrollments.Get(ctx, ws.UserID)
	if err != nil {
		return EnrolShow{}, err
	}
	reg, ok := en.Methods[kind]
	if !ok {
		return EnrolShow{}, ErrBadRequest
	}
	switch kind {
	case MethodTOTP:
		ws.PendingKind, ws.PendingTOTP, ws.PendingEmail, ws.PendingMAC = MethodTOTP, "", "", ""
		ws.PendingExpiry = e.d.Clock.Now().Add(WebLifetime)
	case MethodEmail, MethodSMS, MethodVoice:
		show, err := e.BeginEnrol(ctx, ws, kind, reg.Address)
		if err != nil {
			return EnrolShow{}, err
		}
		ws.Reconfirm = true
		return show, nil
	default:
		return EnrolShow{}, ErrBadRequest
	}
	ws.Reconfirm = true
	return EnrolShow{}, nil
}

// confirmExistingTOTP re-proves the registered authenticator app.
func (e *Engine) confirmExistingTOTP(ctx context.Context, ws *WebState, acct Account, code string) (Registered, int64, bool, error) {
	en, err := e.d.Enrollments.Get(ctx, ws.UserID)
	if err != nil {
		return Registered{}, 0, false, err
	}
	m, ok := e.methods[MethodTOTP]
	reg, have := en.Methods[MethodTOTP]
	if !ok || !have {
		return Registered{}, 0, false, ErrBadRequest
	}
	p := m.Check(acct, en, "", StoredCode{}, code, e.d.Clock.Now())
	return reg, p.Step, p.Correct, nil
}
