package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

var _ flows.RateLimiter = (*Store)(nil)

// rateScript uses a single-use value, then counts one hit on each fixed-window bucket; every key
// carries the {rl} hash tag so one script touches one Cluster slot.
// KEYS: 1 the single-use key (” for none), 2.. the buckets
// ARGV: 1 single-use ttl ms, then per bucket: max, window ms
// Returns the 0-based index of the first bucket over its limit, #buckets when the single-use
// value was used before, or -1.
var rateScript = redis.NewScript(`
local n = #KEYS - 1
if KEYS[1] ~= '{rl}:once:' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return n end
end
local over = -1
for i = 1, n do
  local c = redis.call('INCR', KEYS[i + 1])
  if c == 1 then redis.call('PEXPIRE', KEYS[i + 1], ARGV[2 * i + 1]) end
  if over < 0 and c > tonumber(ARGV[2 * i]) then over = i - 1 end
end
return over
`)

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
