package flows

import (
	"context"
	"errors"
	"fmt"
)

// The password change page ("Change it now" under an expiry reminder): a person who knows their
// password signs in on the one-time page (OpenID Connect, or their current AD password where
// there is no Entra) and chooses a new one, under the same rules, checklist and notices as a
// reset. No codes: the fresh sign-in in the same browser session is the proof.

// startChange gives an eligible person the one-time change page.
func (e *Engine) startChange(s *step) {
	sess := e.newSession(s, FlowChange, StateChangeLink)
	link, err := e.grantLink(s, sess, PurposeChange)
	if err != nil {
		s.say(MsgTrouble, s.pol.HelpdeskURL)
		return
	}
	s.audit("link_issued", "ok", string(PurposeChange))
	s.say(MsgChangeLink)
	s.replies[len(s.replies)-1].Link = link
}

// ChangeRules are the rules the new password must meet, for the change page after sign-in.
func (e *Engine) ChangeRules(ctx context.Context, ws *WebState) (PasswordRules, error) {
	if ws.Purpose != PurposeChange {
		return PasswordRules{}, ErrNeedSignIn
	}
	if err := e.signedIn(ws); err != nil {
		return PasswordRules{}, err
	}
	return e.passwordRules(ctx, ws.UserID), nil
}

// passwordRules are the bot's own rules raised to the person's directory rules.
func (e *Engine) passwordRules(ctx context.Context, userID string) PasswordRules {
	rules := PasswordRules{MinLength: MinPasswordLength, Complexity: true, Source: "resetbot"}
	if src := e.caps.Rules; src != nil {
		if r, err := src.PasswordRules(ctx, userID); err == nil && r.Known {
			rules.MinLength = max(rules.MinLength, r.MinLength)
			rules.History, rules.Known, rules.Source = r.History, true, r.Source
		}
	}
	return rules
}

// ChangePassword sets the password a signed-in person chose on the change page: the same checks
// (length, kinds, banned and personal words, the directory's rules) and the same notices
// (audit, sign-out everywhere, email, chat with "This wasn't me", bot admins for privileged
// users) as a reset. ws must be the change page's browser session with a fresh sign-in; the
// caller ends that session after a change.
func (e *Engine) ChangePassword(ctx context.Context, ws *WebState, pw, confirm string) error {
	ctx = WithUserWaiting(ctx)
	if ws.Purpose != PurposeChange {
		return ErrNeedSignIn
	}
	if err := e.signedIn(ws); err != nil {
		return err
	}
	pol, err := e.policy(ctx)
	if err != nil {
		return err
	}
	if err := CheckPassword(pw, confirm); err != nil {
		return err
	}
	acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: ws.UserID})
	if err != nil {
		return ErrLinkGone
	}
	if err := e.checkNewPassword(ctx, acct, pol, pw, confirm); err != nil {
		return err
	}
	// no locale: the notice speaks the person's language (the page's, else the one remembered)
	chat, _ := parseChatKey(ws.ChatKey)
	sess := &Session{ID: ws.SessionID, Flow: FlowChange, UserID: ws.UserID, Chat: chat}
	if err := e.d.Directory.SetPassword(ctx, ws.UserID, pw, false); err != nil {
		e.audit(ctx, AuditEvent{Time: e.d.Clock.Now(), Actor: ws.ChatKey, Subject: ws.UserID, Platform: chat.Platform,
			Action: string(FlowChange), Outcome: "failed", Reason: "directory"})
		var pe *PasswordError
		if errors.As(err, &pe) {
			return pe
		}
		return fmt.Errorf("%w: %v", ErrDirectory, err)
	}
	e.keepNewPassword(ctx, ws.UserID, pw)
	e.later(ctx, func(ctx context.Context) { e.afterReset(ctx, acct, sess, pol, "changed before expiry", nil) })
	return nil
}
