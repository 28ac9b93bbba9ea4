package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.RateLimiter = (*Store)(nil)

// rateScript is ratelimit.lua: the recovery page's single-use values and fixed-window buckets.
var rateScript = script("ratelimit.lua", "lib_window_key.lua")

// Take implements flows.RateLimiter in one round trip. A bucket's window is fixed: it starts
// at its first hit (the key's expiry ends it).
func (s *Store) Take(ctx context.Context, now time.Time, once string, onceFor time.Duration, hits []flows.RateHit) (int, error) {
	keys := make([]string, 0, len(hits)+1)
	keys = append(keys, "{rl}:once:"+once)
	args := []any{max(onceFor.Milliseconds(), 1)}
	for _, h := range hits {
		// the window's number is in the key too, so a bucket whose expiry was lost still ends
		win := h.Window.Milliseconds()
		keys = append(keys, fmt.Sprintf("{rl}:%s:%d", h.Key, now.UnixMilli()/max(win, 1)))
		args = append(args, h.Max, max(win, 1))
	}
	n, err := s.runScript(ctx, rateScript, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("store: rate limit: %w", err)
	}
	return n, nil
}
