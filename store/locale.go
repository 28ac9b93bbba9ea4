package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.PersonLocales = (*Store)(nil)

// PersonLocale is the person's language and time zone a step kept ({u:<id>}:locale, written by
// step.lua with Commit.Locale); the zero value when nothing is known.
func (s *Store) PersonLocale(ctx context.Context, userID string) (flows.PersonLocale, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	v, err := s.rdb.HMGet(ctx, localeKey(userID), "lang", "tz").Result()
	if errors.Is(err, redis.Nil) {
		return flows.PersonLocale{}, nil
	}
	if err != nil {
		return flows.PersonLocale{}, err
	}
	var l flows.PersonLocale
	l.Lang, _ = v[0].(string)
	l.TimeZone, _ = v[1].(string)
	return l, nil
}

var _ flows.EnrolledLocales = (*Store)(nil)

// EnrollmentAndLocale is Get and PersonLocale of one person in one pipeline (both keys are in
// the person's slot): a notice reads where to mail them and in what words at once.
func (s *Store) EnrollmentAndLocale(ctx context.Context, userID string) (flows.Enrollment, flows.PersonLocale, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var en *redis.MapStringStringCmd
	var loc *redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		en = p.HGetAll(ctx, enrolKey(userID))
		loc = p.HMGet(ctx, localeKey(userID), "lang", "tz")
		return nil
	})
	var l flows.PersonLocale
	if v := loc.Val(); len(v) == 2 {
		l.Lang, _ = v[0].(string)
		l.TimeZone, _ = v[1].(string)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return flows.Enrollment{}, l, fmt.Errorf("store: enrollment and locale: %w", err)
	}
	e, err := s.decodeEnrollment(userID, en.Val())
	return e, l, err
}
