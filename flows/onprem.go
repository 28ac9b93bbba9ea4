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
// Access Passes, groups, managers) come from Cloud.
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
	a.Privileged = a.Privileged || op.Privileged
	a.Enabled = a.Enabled && op.Enabled
	a.Locked, a.LockedAt = op.Locked, op.LockedAt
	return a, nil
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
	u, ok := d.(Unlocker)
	if !ok {
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
	u, ok := d.(Unlocker)
	if !ok {
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
	if src, ok := d.(RulesSource); ok {
		return src.PasswordRules(ctx, id)
	}
	return PasswordRules{}, nil
}

// LockedOutSince maps AD's new lockouts to Entra accounts (by UPN, then checked by security
// identifier), so the person is reached where they chat.
func (r Router) LockedOutSince(ctx context.Context, since time.Time) ([]Account, error) {
	src, ok := r.OnPrem.(LockoutSource)
	if !ok {
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

// The router is every kind of directory the engine asks for.
var (
	_ Directory     = Router{}
	_ Unlocker      = Router{}
	_ RulesSource   = Router{}
	_ LockoutSource = Router{}
	_ ContactSource = Router{}
	_ TAPIssuer     = Router{}
	_ Roster        = Router{}
	_ GroupResolver = Router{}
	_ GroupMembers  = Router{}
	_ ManagerSource = Router{}
)

// The cloud-side extras.

// ContactMethods forwards to Entra.
func (r Router) ContactMethods(ctx context.Context, userID string) ([]Registered, error) {
	if x, ok := r.Cloud.(ContactSource); ok {
		return x.ContactMethods(ctx, userID)
	}
	return nil, nil
}

// IssueTAP forwards to Entra.
func (r Router) IssueTAP(ctx context.Context, userID string, lifetime time.Duration) (string, error) {
	if x, ok := r.Cloud.(TAPIssuer); ok {
		return x.IssueTAP(ctx, userID, lifetime)
	}
	return "", ErrUnsupported
}

// EachUser forwards to Entra.
func (r Router) EachUser(ctx context.Context, groups []string, fn func(Account) error) error {
	if x, ok := r.Cloud.(Roster); ok {
		return x.EachUser(ctx, groups, fn)
	}
	return ErrUnsupported
}

// ResolveGroup forwards to Entra.
func (r Router) ResolveGroup(ctx context.Context, name string) (string, error) {
	if x, ok := r.Cloud.(GroupResolver); ok {
		return x.ResolveGroup(ctx, name)
	}
	return "", ErrUnsupported
}

// Members forwards to Entra.
func (r Router) Members(ctx context.Context, groupID string) ([]Account, error) {
	if x, ok := r.Cloud.(GroupMembers); ok {
		return x.Members(ctx, groupID)
	}
	return nil, ErrUnsupported
}

// Manager forwards to Entra.
func (r Router) Manager(ctx context.Context, userID string) (Account, error) {
	if x, ok := r.Cloud.(ManagerSource); ok {
		return x.Manager(ctx, userID)
	}
	return Account{}, ErrUnsupported
}
