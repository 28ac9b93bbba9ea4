package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/resetbot/resetbot/flows"
)

// The records of password expiry reminders: one marker per password (by its expiry) and
// stage, and when the person was last reminded of which expiry (for the report).

var _ flows.ExpiryLedger = (*Store)(nil)

func expiryKey(uid string) string { return tag(uid) + ":exp" }

var markExpiryScript = script("expiry_mark.lua")

// MarkExpiry implements flows.ExpiryLedger.
func (s *Store) MarkExpiry(ctx context.Context, userID string, expiresAt time.Time, days int, now time.Time) (bool, error) {
	field := strconv.FormatInt(expiresAt.UnixMilli(), 10) + ":" + strconv.Itoa(days)
	// kept well past the expiry, so the report can tell a change after the reminder
	ttl := expiresAt.Sub(now) + 60*24*time.Hour
	ok, err := s.runScript(ctx, markExpiryScript, []string{expiryKey(userID)}, field, now.UnixMilli(), expiresAt.UnixMilli(), ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: expiry mark: %w", err)
	}
	return ok == 1, nil
}

// LastExpiryReminder implements flows.ExpiryLedger.
func (s *Store) LastExpiryReminder(ctx context.Context, userID string) (time.Time, time.Time, error) {
	v, err := s.rdb.HMGet(ctx, expiryKey(userID), "last", "last_exp").Result()
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("store: expiry last: %w", err)
	}
	ms := func(x any) time.Time {
		s, _ := x.(string)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n).UTC()
	}
	return ms(v[0]), ms(v[1]), nil
}
