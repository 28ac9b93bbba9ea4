-- The recovery page's abuse limits: use a single-use value (a solved proof-of-work), then
-- count one hit on each fixed-window bucket. Every key carries the {rl} hash tag, so one script
-- touches one Cluster slot.
-- KEYS: 1 the single-use key ('{rl}:once:' for none), 2.. the buckets
-- ARGV: 1 single-use ttl ms, then per bucket: max, window ms
-- Returns the 0-based index of the first bucket over its limit, #buckets when the single-use
-- value was used before (nothing is counted then), or -1.
local n = #KEYS - 1
if KEYS[1] ~= '{rl}:once:' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return n end
end
local over = -1
for i = 1, n do
  local c = window_key_tick(KEYS[i + 1], ARGV[2 * i + 1])
  if over < 0 and c > tonumber(ARGV[2 * i]) then over = i - 1 end
end
return over

