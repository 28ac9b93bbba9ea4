package store

import (
	"context"
	"fmt"
	"time"

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

var putOnceScript = script("put_once.lua")

// SpendOnce deletes a single-use token; false when it was not there (spent or expired).
func (s *Store) SpendOnce(ctx context.Context, userID, mac string) (bool, error) {
	n, err := s.runScript(ctx, hdelOnceScript, []string{onceKey(userID, mac)}).Int()
	if err != nil {
		return false, fmt.Errorf("store: once: %w", err)
	}
	return n == 1, nil
}

var hdelOnceScript = script("del_once.lua")

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

var registerOnceScript = script("register_once.lua")
