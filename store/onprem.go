package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The records of on-premises Active Directory features: password sign-in counts, the lockout
// poller's lease and its ledger of announced lockouts, and the chat identities of each user.

func chatsKey(uid string) string { return tag(uid) + ":chats" }
func signInKey(uid string, now time.Time) string {
	return tag(uid) + ":signin:" + now.UTC().Format("20060102")
}

// ChatsOf lists the chat identities (keys) pinned to a directory user.
func (s *Store) ChatsOf(ctx context.Context, userID string) ([]string, error) {
	v, err := s.rdb.SMembers(ctx, chatsKey(userID)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: chats: %w", err)
	}
	return v, nil
}

// signInScript counts an attempt before it is checked: refused, and not counted, when the
// day's failures are used up. A day is a UTC calendar day.
var signInScript = script("signin.lua", "lib_window_key.lua")

// TakeSignIn implements flows.SignInLimiter.
func (s *Store) TakeSignIn(ctx context.Context, userID string, max int, now time.Time) (bool, error) {
	ok, err := signInScript.Run(ctx, s.rdb, []string{signInKey(userID, now)}, max, (48 * time.Hour).Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: sign-in count: %w", err)
	}
	return ok == 1, nil
}

var forgiveScript = script("forgive.lua")

// ForgiveSignIn implements flows.SignInLimiter.
func (s *Store) ForgiveSignIn(ctx context.Context, userID string, now time.Time) error {
	if err := forgiveScript.Run(ctx, s.rdb, []string{signInKey(userID, now)}).Err(); err != nil {
		return fmt.Errorf("store: sign-in count: %w", err)
	}
	return nil
}

var leaseScript = script("lease.lua")

// Lease takes or renews a named lease for holder; false when another holder has it.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := leaseScript.Run(ctx, s.rdb, []string{"lease:{" + name + "}"}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return ok == 1, nil
}

var releaseScript = script("release.lua")

// Release ends a lease if holder has it.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{"lease:{" + name + "}"}, holder).Err(); err != nil {
		return fmt.Errorf("store: release %s: %w", name, err)
	}
	return nil
}

// announceScript records one lockout (user and lockout time) once, and counts it against the
// user's alerts of the day; 1 when it is to be announced.
var announceScript = script("announce.lua", "lib_window_key.lua")

// Announce implements flows.LockoutLedger.
func (s *Store) Announce(ctx context.Context, userID string, lockedAt time.Time, max int, now time.Time) (bool, error) {
	day := now.UTC().Format("20060102")
	keys := []string{tag(userID) + ":lock:" + strconv.FormatInt(lockedAt.UnixNano(), 10), tag(userID) + ":lockdm:" + day}
	ok, err := announceScript.Run(ctx, s.rdb, keys, max, (48 * time.Hour).Milliseconds(), (8 * 24 * time.Hour).Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: lockout ledger: %w", err)
	}
	return ok == 1, nil
}
