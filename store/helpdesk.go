package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// The records of helpdesk caller verification: each person's live request and the times they
// were asked in the last hour (beside the person's other keys, in their hash-tag slot).

var _ flows.HelpdeskStore = (*Store)(nil)

func askKey(uid string) string      { return tag(uid) + ":hd" }
func askCountKey(uid string) string { return tag(uid) + ":hd:n" }

// askTTL keeps a finished request readable a while after it ended (a late button press is
// answered "this request is over"), then Redis drops it.
const askTTL = time.Hour

var countAskScript = script("helpdesk_ask.lua")

// CountAsk implements flows.HelpdeskStore.
func (s *Store) CountAsk(ctx context.Context, userID string, max int, window time.Duration, now time.Time) (bool, error) {
	ok, err := s.runScript(ctx, countAskScript, []string{askCountKey(userID), askCountKey(userID) + ":seq"}, now.UnixMilli(), window.Milliseconds(), max).Int()
	if err != nil {
		return false, fmt.Errorf("store: helpdesk count: %w", err)
	}
	return ok == 1, nil
}

// PutAsk implements flows.HelpdeskStore.
func (s *Store) PutAsk(ctx context.Context, a flows.HelpdeskAsk) error {
	a.Version = 1
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, askKey(a.UserID), b, askTTL).Err(); err != nil {
		return fmt.Errorf("store: helpdesk put: %w", err)
	}
	return nil
}

// GetAsk implements flows.HelpdeskStore.
func (s *Store) GetAsk(ctx context.Context, userID string) (flows.HelpdeskAsk, error) {
	var a flows.HelpdeskAsk
	b, err := s.rdb.Get(ctx, askKey(userID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return a, flows.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: helpdesk get: %w", err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("store: helpdesk record: %w", err)
	}
	return a, nil
}

var updateAskScript = script("helpdesk_update.lua")

// UpdateAsk implements flows.HelpdeskStore.
func (s *Store) UpdateAsk(ctx context.Context, a flows.HelpdeskAsk) error {
	expect := a.Version
	a.Version++
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	ok, err := s.runScript(ctx, updateAskScript, []string{askKey(a.UserID)}, a.ID, expect, string(b)).Int()
	if err != nil {
		return fmt.Errorf("store: helpdesk update: %w", err)
	}
	if ok != 1 {
		return flows.ErrStale
	}
	return nil
}
