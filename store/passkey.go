package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.SingleUse = (*Store)(nil)

func onceKey(userID, mac string) string { return tag(userID) + ":once:" + mac }

// PutOnce stores a single-use token (by its MAC) of the person for ttl.
func (s *Store) PutOnce(ctx context.Context, userID, mac string, ttl time.Duration) error {
	if err := s.runScript(ctx, putOnceScript, []string{onceKey(userID, mac)}, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("store: once: %w", err)
	}
	return nil
}

var putOnceScript = redis.NewScript(`redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) return 1`)

// SpendOnce deletes a single-use token; false when it was not there (spent or expired).
func (s *Store) SpendOnce(ctx context.Context, userID, mac string) (bool, error) {
	n, err := s.runScript(ctx, hdelOnceScript, []string{onceKey(userID, mac)}).Int()
	if err != nil {
		return false, fmt.Errorf("store: once: %w", err)
	}
	return n == 1, nil
}

var hdelOnceScript = redis.NewScript(`return redis.call('DEL', KEYS[1])`)

// RegisterOnce seals and stores a method only if the single-use token is still there, spending
// it in the same script; false (nothing written) when it was spent or expired.
func (s *Store) RegisterOnce(ctx context.Context, userID, mac string, m flows.Registered) (bool, error) {
	field, sealed, err := s.sealMethod(userID, m)
	if err != nil {
		return false, err
	}
	n, err := s.runScript(ctx, registerOnceScript, []string{onceKey(userID, mac), enrolKey(userID)}, field, sealed).Int()
	if err != nil {
		return false, fmt.Errorf("store: register once: %w", err)
	}
	return n == 1, nil
}

var registerOnceScript = redis.NewScript(`if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`)
