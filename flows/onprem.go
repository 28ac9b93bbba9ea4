package flows

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Outcomes of checking a user's own directory password (an AD bind as the user).
var (
	ErrWrongPassword      = errors.New("wrong password")
	ErrAccountLocked      = errors.New("account locked out")
	ErrMustChangePassword = errors.New("the password must be changed first")
	ErrUnsupported        = errors.New("not supported by this directory")
	// ErrLockoutNear: the directory is so close to locking the account that the page does not
	// try the password at all (a *LockoutNearError says how close).
	ErrLockoutNear = errors.New("too close to the directory's lockout to try a password")
)

// LockoutNearError says why a password was not tried: the account has had Failed wrong
// passwords recently and the directory locks it at Threshold (0: the threshold is unknown);
// the count clears by itself after ClearsIn (0: unknown), or at a successful sign-in.
type LockoutNearError struct {
	Failed, Threshold int
	ClearsIn          time.Duration
}

func (e *LockoutNearError) Error() string {
	return fmt.Sprintf("%s: %d of %d wrong passwords", ErrLockoutNear, e.Failed, e.Threshold)
}

// Is makes errors.Is(err, ErrLockoutNear) true.
func (e *LockoutNearError) Is(target error) bool { return target == ErrLockoutNear }

// Unlocker is a directory that keeps its own lockout (Active Directory).
type Unlocker interface {
	// LockedOut says whether the user is locked out now, and since when.
	LockedOut(ctx context.Context, userID string) (bool, time.Time, error)
	// Unlock ends the lockout without touching the password.
	Unlock(ctx context.Context, userID string) error
}

// LockoutSource lists the users whose lockout began at or after a time and who are still locked.
type LockoutSource interface {
	LockedOutSince(ctx context.Context, since time.Time) ([]Account, error)
}

// PasswordVerifier checks a user's current directory password: the step-up sign-in of
// deployments without Entra. Errors: ErrWrongPassword, ErrAccountLocked, ErrMustChangePassword.
type PasswordVerifier interface {
	VerifyPassword(ctx context.Context, userID, password string) error
}

// PasswordRules are a directory's own rules for new passwords.
type PasswordRules struct {
	MinLength  int
	Complexity bool
	History    int    // how many earlier passwords may not be used again
	Known      bool   // the rules could be read (false: the directory will judge alone)
	Source     string // who set them, for the message ("your domain")
}

// RulesSource is a directory with its own password rules.
type RulesSource interface {
	PasswordRules(ctx context.Context, userID string) (PasswordRules, error)
}

// Router is a hybrid directory over Entra ID (Cloud) and Active Directory (OnPrem): people are
// found in Entra; those synced from AD are reset and unlocked in AD, which Graph cannot do for
// them; cloud-only users stay in Entra. Cloud-side extras (roster, contact methods, Temporary
// Access Passes, groups, managers) come from Cloud's Capabilities.
type Router struct {
	Cloud  Directory
	OnPrem Directory
}

// Lookup finds the person in Entra and, when they are synced, their AD account by security
// identifier: AD's protection, enablement and lockout count too. A synced user with no AD
// account behind them is not found.
func (r Router) Lookup(ctx context.Context, c Claim) (Account, error) {
	a, err := r.Cloud.Lookup(ctx, c)
	if err != nil || !a.Synced {
		return a, err
	}
	op, err := r.onPrem(ctx, a)
	if err != nil {
		return Account{}, err
	}
	return joinAD(a, op), nil
}

// joinAD is a synced person's Entra account with what their AD account says: AD's protection,
// enablement and lockout count too.
func joinAD(a, op Account) Account {
	a.Privileged = a.Privileged || op.Privileged
	a.Enabled = a.Enabled && op.Enabled
	a.Locked, a.LockedAt = op.Locked, op.LockedAt
	return a
}

func (r Router) onPrem(ctx context.Context, a Account) (Account, error) {
	if a.OnPremSID == "" {
		return Account{}, fmt.Errorf("%w: synced user %s has no onPremisesSecurityIdentifier", ErrNotFound, a.ID)
	}
	op, err := r.OnPrem.Lookup(ctx, Claim{Kind: ClaimSID, Value: a.OnPremSID})
	if err != nil {
		return Account{}, fmt.Errorf("flows: AD account of synced user %s (%s): %w", a.ID, a.OnPremSID, err)
	}
	return op, nil
}

// target is the directory and id that own the user's password and lockout.
func (r Router) target(ctx context.Context, userID string) (Directory, string, error) {
	a, err := r.Cloud.Lookup(ctx, Claim{Kind: ClaimObjectID, Value: userID})
	if err != nil {
		return nil, "", err
	}
	if !a.Synced {
		return r.Cloud, userID, nil
	}
	op, err := r.onPrem(ctx, a)
	if err != nil {
		return nil, "", err
	}
	return r.OnPrem, op.ID, nil
}

// SetPassword goes to AD for synced users and to Entra for cloud-only ones.
func (r Router) SetPassword(ctx context.Context, userID, password string, forceChange bool) error {
	d, id, err := r.target(ctx, userID)
	if err != nil {
		return err
	}
	return d.SetPassword(ctx, id, password, forceChange)
}

// RevokeSessions ends the user's Entra sessions: that is where everyone signs in to the cloud.
func (r Router) RevokeSessions(ctx context.Context, userID string) error {
	return r.Cloud.RevokeSessions(ctx, userID)
}

// LockedOut is AD's lockout for synced users; cloud-only users are never locked here.
func (r Router) LockedOut(ctx context.Context, userID string) (bool, time.Time, error) {
	d, id, err := r.target(ctx, userID)
	if err != nil {
		return false, time.Time{}, err
	}
	u := d.Capabilities().Unlocker
	if u == nil {
		return false, time.Time{}, nil
	}
	return u.LockedOut(ctx, id)
}

// Unlock unlocks a synced user in AD.
func (r Router) Unlock(ctx context.Context, userID string) error {
	d, id, err := r.target(ctx, userID)
	if err != nil {
		return err
	}
	u := d.Capabilities().Unlocker
	if u == nil {
		return ErrUnsupported
	}
	return u.Unlock(ctx, id)
}

// PasswordRules are AD's for synced users.
func (r Router) PasswordRules(ctx context.Context, userID string) (PasswordRules, error) {
	d, id, err := r.target(ctx, userID)
	if err != nil {
		return PasswordRules{}, err
	}
	if src := d.Capabilities().Rules; src != nil {
		return src.PasswordRules(ctx, id)
	}
	return PasswordRules{}, nil
}

// LockedOutSince maps AD's new lockouts to Entra accounts (by UPN, then checked by security
// identifier), so the person is reached where they chat.
func (r Router) LockedOutSince(ctx context.Context, since time.Time) ([]Account, error) {
	src := r.OnPrem.Capabilities().Lockouts
	if src == nil {
		return nil, ErrUnsupported
	}
	locked, err := src.LockedOutSince(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(locked))
	for _, op := range locked {
		a, err := r.Cloud.Lookup(ctx, Claim{Kind: ClaimUPN, Value: op.UPN})
		if err != nil || !a.Synced || a.OnPremSID != op.OnPremSID {
			continue
		}
		a.Locked, a.LockedAt = true, op.LockedAt
		out = append(out, a)
	}
	return out, nil
}

// Capabilities are the router's: Entra's extras as they are (roster, contact methods, Temporary
// Access Passes, groups, managers), and its own routing of lockouts, unlocks, password rules and
// expiries where either directory has them.
func (r Router) Capabilities() Capabilities {
	c, op := r.Cloud.Capabilities(), r.OnPrem.Capabilities()
	caps := Capabilities{Contacts: c.Contacts, TAPs: c.TAPs, Roster: c.Roster, Groups: c.Groups, Members: c.Members, Managers: c.Managers}
	if c.Roster != nil && op.Roster != nil {
		caps.Roster = hybridRoster{cloud: c.Roster, onprem: op.Roster}
	}
	if c.Unlocker != nil || op.Unlocker != nil {
		caps.Unlocker = r
	}
	if c.Rules != nil || op.Rules != nil {
		caps.Rules = r
	}
	if op.Lockouts != nil {
		caps.Lockouts = r
	}
	if c.Expiries != nil || op.Expiries != nil {
		caps.Expiries = r
	}
	return caps
}

// hybridRoster is Entra's listing with each synced person's AD account joined in, from one AD
// walk, as Router.Lookup joins it one person at a time: AD's protection and enablement count
// too, and a synced person without an AD account is not listed (Lookup does not find them).
type hybridRoster struct{ cloud, onprem Roster }

func (h hybridRoster) EachUser(ctx context.Context, groups []string, fn func(Account) error) error {
	ad := map[string]Account{}
	if err := h.onprem.EachUser(ctx, nil, func(a Account) error {
		if a.OnPremSID != "" && len(ad) < 5_000_000 {
			ad[a.OnPremSID] = a
		}
		return nil
	}); err != nil {
		return fmt.Errorf("flows: AD accounts of synced users: %w", err)
	}
	return h.cloud.EachUser(ctx, groups, func(a Account) error {
		if a.Synced {
			op, ok := ad[a.OnPremSID]
			if !ok || a.OnPremSID == "" {
				return nil
			}
			a = joinAD(a, op)
		}
		return fn(a)
	})
}

// The router routes these itself.
var (
	_ Directory     = Router{}
	_ Unlocker      = Router{}
	_ RulesSource   = Router{}
	_ LockoutSource = Router{}
	_ ExpirySource  = Router{}
)
