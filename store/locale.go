package store

import (
	"context"
	"errors"

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
