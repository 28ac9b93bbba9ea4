-- Takes one unit of a shared budget in a fixed window (e.g. texts and calls an hour, for
-- everyone): the window starts with its first unit; a unit beyond the maximum is refused and
-- not taken.
-- KEYS[1] the budget. ARGV[1] now (ms), ARGV[2] the window (ms), ARGV[3] the maximum.
-- Returns 1 when taken, 0 when the budget is spent.
local now, win, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('GET', KEYS[1])
local c, s = 0, now
if v then
  local vc, vs = string.match(v, '^(%d+):(%d+)$')
  vc = tonumber(vc); vs = tonumber(vs)
  if vc and vs and now < vs + win then c, s = vc, vs end
end
if c >= max then return 0 end
redis.call('SET', KEYS[1], string.format('%d:%d', c + 1, s), 'PX', string.format('%d', win * 2))
return 1
