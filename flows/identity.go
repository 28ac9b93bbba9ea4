package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// resolve maps a chat identity to its one directory account through the verified claim and
// refuses an identity pinned to someone else (one read of the pin; Handle reads it with its
// snapshot instead).
func (e *Engine) resolve(ctx context.Context, in Inbound) (Account, error) {
	key := in.Chat.Key()
	pinned, err := e.d.Enrollments.Pinned(ctx, key)
	if err != nil {
		return Account{}, fmt.Errorf("flows: pin: %w", err)
	}
	acct, err := e.identify(ctx, in, key)
	if err == nil {
		acct, err = e.checkPin(ctx, in, pinned, acct)
	}
	return acct, err
}

// identify looks the claim up in the directory, cached in process for IdentityTTL. For
// KnownIDTTL after a search the object id it found (or NoObjectID) is read by id instead: one
// directory round trip, the same calls whatever the answer; then the claim is searched again.
// key is in.Chat.Key().
func (e *Engine) identify(ctx context.Context, in Inbound, key string) (Account, error) {
	now := e.d.Clock.Now()
	e.mu.Lock()
	c, ok := e.idents[key]
	e.mu.Unlock()
	if ok && now.Sub(c.at) < e.o.IdentityTTL {
		return c.acct, c.err
	}
	known, knownAt := "", time.Time{}
	if ok && now.Sub(c.knownAt) < KnownIDTTL {
		known, knownAt = c.known, c.knownAt
	}
	claim := in.Claim
	if known == "" && (claim.Kind == ClaimEmail || claim.Kind == ClaimUPN) && in.Chat.Platform != RecoverPlatform {
		// A cold mapping: the pin (one Redis read, made for every claim whatever it names)
		// lets the directory read the pinned user while it searches, so a registered person
		// waits for one directory round trip, not two. Without it the search goes alone. (A
		// recovery page's browser is never pinned: nothing to read.)
		if pinned, err := e.d.Enrollments.Pinned(ctx, key); err == nil {
			claim.Pinned = pinned
		} else {
			e.d.Log.WarnContext(ctx, "pin unavailable: the directory is searched alone", "err", err)
		}
	}
	acct, searched, err := e.lookupKnown(ctx, claim, known)
	if err != nil && !isExpected(err) {
		return Account{}, err
	}
	if searched {
		known, knownAt = "", now
		switch {
		case err == nil:
			known = acct.ID
		case errors.Is(err, ErrNotFound):
			known = NoObjectID
		}
	}
	e.mu.Lock()
	if now.After(e.identSweep) {
		// the cache holds the people seen lately, not everyone ever seen
		for k, c := range e.idents {
			if now.Sub(c.at) >= e.o.IdentityTTL && now.Sub(c.knownAt) >= KnownIDTTL {
				delete(e.idents, k)
			}
		}
		e.identSweep = now.Add(e.o.IdentityTTL)
	}
	if len(e.idents) > 100_000 {
		e.idents = map[string]identEntry{}
	}
	e.idents[key] = identEntry{acct: acct, err: err, at: now, known: known, knownAt: knownAt}
	e.mu.Unlock()
	return acct, err
}

// lookupKnown looks a claim up. With a known object id (a search found it, or NoObjectID when
// it found nobody) the account is read by that id, which the directory answers in one round
// trip (a search by mail or UPN needs a second for the privilege checks), and kept only while
// it still carries the claim; otherwise the claim is searched (searched reports that).
func (e *Engine) lookupKnown(ctx context.Context, c Claim, known string) (acct Account, searched bool, err error) {
	if known != "" && (c.Kind == ClaimEmail || c.Kind == ClaimUPN) {
		acct, err := e.d.Directory.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: known})
		switch {
		case err == nil && carries(acct, c):
			return acct, false, nil
		case known == NoObjectID && errors.Is(err, ErrNotFound):
			return Account{}, false, ErrNotFound
		case err != nil && !isExpected(err):
			return Account{}, false, err
		}
	}
	acct, err = e.lookup(ctx, c)
	return acct, true, err
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
		e.d.Alerts.Alert(ctx, ev, Text(Lang(e.policyOrDefault(ctx, "pin alert").Language), "alert.pin_mismatch", key, pinned, acct.ID))
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
// step reads the account again, by its known object id while that is trusted.
func (e *Engine) Forget(chatKey string) {
	e.mu.Lock()
	if c, ok := e.idents[chatKey]; ok {
		e.idents[chatKey] = identEntry{known: c.known, knownAt: c.knownAt}
	}
	e.mu.Unlock()
}

// policy returns the policy, cached in process for at most PolicyTTL.
// policyOrDefault is the policy for what may fall back to the default (a notice's helpdesk
// link, a list of what the page offers, which the step then checks against the real policy):
// the read error is logged, never silent.
func (e *Engine) policyOrDefault(ctx context.Context, what string) Policy {
	p, err := e.policy(ctx)
	if err != nil {
		e.d.Log.WarnContext(ctx, "policy unavailable: the default policy is used", "for", what, "err", err)
	}
	return p
}

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
