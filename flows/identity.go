package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// resolve maps a chat identity to its one directory account through the verified claim and
// refuses an identity pinned to someone else (one read of the pin; Handle reads it with its
// snapshot instead).
func (e *Engine) resolve(ctx context.Context, in Inbound) (Account, error) {
	pinned, err := e.d.Enrollments.Pinned(ctx, in.Chat.Key())
	if err != nil {
		return Account{}, fmt.Errorf("flows: pin: %w", err)
	}
	acct, err := e.identify(ctx, in)
	if err == nil {
		acct, err = e.checkPin(ctx, in, pinned, acct)
	}
	return acct, err
}

// identify looks the claim up in the directory, cached in process for IdentityTTL; after that
// the cached object id makes the next look-up one directory round trip.
func (e *Engine) identify(ctx context.Context, in Inbound) (Account, error) {
	key := in.Chat.Key()
	now := e.d.Clock.Now()
	e.mu.Lock()
	c, ok := e.idents[key]
	e.mu.Unlock()
	if ok && now.Sub(c.at) < e.o.IdentityTTL {
		return c.acct, c.err
	}
	acct, err := e.lookupKnown(ctx, in.Claim, c.acct.ID)
	if err != nil && !isExpected(err) {
		return Account{}, err
	}
	e.mu.Lock()
	if len(e.idents) > 100_000 {
		e.idents = map[string]identEntry{}
	}
	e.idents[key] = identEntry{acct: acct, err: err, at: now}
	e.mu.Unlock()
	return acct, err
}

// lookupKnown looks a claim up. When the chat identity mapped to a directory object before
// (knownID), the account is read by that id, which the directory answers in one round trip
// (a search by mail or UPN needs a second for the privilege checks), and kept only if it still
// carries the claim; otherwise, or when it is gone, the claim is searched again.
func (e *Engine) lookupKnown(ctx context.Context, c Claim, knownID string) (Account, error) {
	if knownID != "" && (c.Kind == ClaimEmail || c.Kind == ClaimUPN) {
		acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: knownID})
		if err == nil && carries(acct, c) {
			return acct, nil
		}
		if err != nil && !isExpected(err) {
			return Account{}, err
		}
	}
	return e.lookup(ctx, c)
}

// carries reports whether an account is the one a claim names.
func carries(a Account, c Claim) bool {
	v := strings.TrimSpace(c.Value)
	switch c.Kind {
	case ClaimEmail:
		return v != "" && (strings.EqualFold(a.Mail, v) || strings.EqualFold(a.UPN, v))
	case ClaimUPN:
		return v != "" && strings.EqualFold(a.UPN, v)
	}
	return false
}

// checkPin refuses a chat identity pinned to another directory user than the one its claim
// maps to now: audited, and the bot admins alerted.
func (e *Engine) checkPin(ctx context.Context, in Inbound, pinned string, acct Account) (Account, error) {
	if pinned == "" || pinned == acct.ID {
		return acct, nil
	}
	key := in.Chat.Key()
	ev := AuditEvent{Time: e.d.Clock.Now(), Actor: key, Subject: pinned, Platform: in.Chat.Platform,
		Action: "identity", Outcome: "refused", Reason: "pin_mismatch"}
	e.audit(ctx, ev)
	if e.d.Alerts != nil {
		e.d.Alerts.Alert(ctx, ev, "The chat account "+key+" is pinned to directory user "+pinned+
			" but now maps to "+acct.ID+". Self-service was refused; please check the chat account's email.")
	}
	e.d.Log.WarnContext(ctx, "chat identity maps to another directory user than the one it is pinned to",
		"chat", key, "pinned", pinned, "now", acct.ID)
	return Account{}, ErrPinMismatch
}

func (e *Engine) lookup(ctx context.Context, c Claim) (Account, error) {
	if c.Value == "" {
		return Account{}, ErrNotFound
	}
	return e.d.Directory.Lookup(ctx, c)
}

func isExpected(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrAmbiguous) || errors.Is(err, ErrPinMismatch)
}

// Forget expires the cached account of a chat identity (after a sign-in pins it): the next
// step reads the account again, by its object id when one was known.
func (e *Engine) Forget(chatKey string) {
	e.mu.Lock()
	if c, ok := e.idents[chatKey]; ok && c.err == nil && c.acct.ID != "" {
		e.idents[chatKey] = identEntry{acct: Account{ID: c.acct.ID}}
	} else {
		delete(e.idents, chatKey)
	}
	e.mu.Unlock()
}

// policy returns the policy, cached in process for at most PolicyTTL.
func (e *Engine) policy(ctx context.Context) (Policy, error) {
	now := e.d.Clock.Now()
	e.mu.Lock()
	if !e.polAt.IsZero() && now.Sub(e.polAt) < e.o.PolicyTTL {
		p := e.pol
		e.mu.Unlock()
		return p, nil
	}
	e.mu.Unlock()
	p, _, err := e.d.Policies.GetPolicy(ctx)
	if err != nil {
		return DefaultPolicy(), err
	}
	e.mu.Lock()
	e.pol, e.polAt = p, now
	e.mu.Unlock()
	return p, nil
}
