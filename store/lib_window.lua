-- The fixed window every per-person counter uses (tries per method, failures, codes sent), kept
-- in one hash field as 'count:start': a window starts with its first count and ends win ms
-- later. script() puts this file in front of the scripts that count (step.lua, judge.lua,
-- count_send.lua), so there is one implementation; it is a library, not a script of its own.

-- window_read is the count in key's field and the start of its window (0 and now when the
-- window has passed or nothing was counted).
local function window_read(key, field, now, win)
  local v = redis.call('HGET', key, field)
  if v then
    local c, s = string.match(v, '^(%d+):(%d+)$')
    c = tonumber(c); s = tonumber(s)
    if c and s and now < s + win then return c, s end
  end
  return 0, now
end

-- window_tick counts one more and returns the new count.
local function window_tick(key, field, now, win)
  local c, s = window_read(key, field, now, win)
  c = c + 1
  redis.call('HSET', key, field, string.format('%d:%d', c, s))
  return c
end

-- window_take counts one more unless max are counted already; false when refused (nothing is
-- counted then).
local function window_take(key, field, now, win, max)
  local c = window_read(key, field, now, win)
  if c >= max then return false end
  window_tick(key, field, now, win)
  return true
end

