package flows

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxFailedSignIns is how many wrong directory passwords a user may type on the bot's page in a
// day before the password sign-in stops for them (AD's own lockout must never be the bot's doing).
const MaxFailedSignIns = 3

// ErrTooManySignIns: the day's failed password sign-ins are used up.
var ErrTooManySignIns = errors.New("too many failed sign-ins today")

// SignInLimiter counts password sign-in attempts per directory user for a day. Take counts an
// attempt before it is checked and says whether it may go ahead; Forgive uncounts one that
// did not fail.
type SignInLimiter interface {
	TakeSignIn(ctx context.Context, userID string, max int, now time.Time) (bool, error)
	ForgiveSignIn(ctx context.Context, userID string, now time.Time) error
}

// PasswordSignInAvailable reports whether the pages can sign people in with their directory
// password (deployments with Active Directory and no Entra sign-in).
func (e *Engine) PasswordSignInAvailable() bool {
	return e.caps.Passwords != nil && e.d.SignIns != nil
}

// PasswordSignIn is the step-up of deployments without Entra: the person's current directory
// password, checked by a bind as their own account, counted before it is checked (at most
// MaxFailedSignIns failures a day). On success the chat identity is pinned like after an OIDC
// sign-in. Bot admin confirmations need a multi-factor sign-in and never take this path.
func (e *Engine) PasswordSignIn(ctx context.Context, ws *WebState, password string) error {
	ctx = WithUserWaiting(ctx)
	pv := e.caps.Passwords
	if pv == nil || e.d.SignIns == nil || (ws.Purpose != PurposeRegister && ws.Purpose != PurposeChange) {
		return ErrUnsupported
	}
	now := e.d.Clock.Now()
	ev := AuditEvent{Time: now, Actor: ws.ChatKey, Subject: ws.UserID, Action: "signin_password"}
	okTake, err := e.d.SignIns.TakeSignIn(ctx, ws.UserID, MaxFailedSignIns, now)
	if err != nil {
		return fmt.Errorf("flows: sign-in count: %w", err)
	}
	if !okTake {
		ev.Outcome, ev.Reason = "refused", "daily_limit"
		e.audit(ctx, ev)
		return ErrTooManySignIns
	}
	err = pv.VerifyPassword(ctx, ws.UserID, password)
	switch {
	case err == nil, errors.Is(err, ErrMustChangePassword):
		if ferr := e.d.SignIns.ForgiveSignIn(ctx, ws.UserID, now); ferr != nil {
			e.d.Log.WarnContext(ctx, "sign-in count not returned", "err", ferr)
		}
		if err != nil {
			ev.Outcome, ev.Reason = "refused", "must_change"
			e.audit(ctx, ev)
			return err
		}
	case errors.Is(err, ErrWrongPassword):
		ev.Outcome, ev.Reason = "failed", err.Error()
		e.audit(ctx, ev)
		return err
	case errors.Is(err, ErrAccountLocked), errors.Is(err, ErrLockoutNear):
		// no password was tried: nothing failed, so nothing is counted
		_ = e.d.SignIns.ForgiveSignIn(ctx, ws.UserID, now)
		ev.Outcome, ev.Reason = "refused", "account_locked"
		if errors.Is(err, ErrLockoutNear) {
			ev.Reason = "lockout_margin"
		}
		e.audit(ctx, ev)
		return err
	default:
		_ = e.d.SignIns.ForgiveSignIn(ctx, ws.UserID, now)
		return err
	}
	return e.pinSignIn(ctx, ws, ev)
}
