-- The fixed window every counter uses. A per-person counter (tries per method, failures, codes
-- sent) is kept in one hash field as 'count:start': a window starts with its first count and
-- ends win ms later. A counter with a key of its own (the recovery page's buckets, a day's
-- sign-ins or lockout alerts, a day's audit counts) is the key's value, and the window is the
-- key's lifetime from its first count. script() puts this file in front of the scripts that
-- count (step.lua, judge.lua, count_send.lua, ratelimit.lua, signin.lua, announce.lua,
-- audit.lua), so there is one implementation; it is a library, not a script of its own.

-- window_parse is the count in v, a field's value as read (false when nothing was counted), and
-- the start of its window (0 and now when the window has passed). win may be the string of a
-- number (arithmetic parses it, once, only when there is a window to check).
local function window_parse(v, now, win)
  if v then
    local c, s = string.match(v, '^(%d+):(%d+)$')
    if c then
      s = s + 0
      if now < s + win then return c + 0, s end
    end
  end
  return 0, now
end

-- window_next is the count with one more over v, the field's value as read in this script, and
-- the value that keeps it, for the caller to write.
local function window_next(v, now, win)
  local c, s = window_parse(v, now, win)
  c = c + 1
  return c, string.format('%d:%d', c, s)
end

-- window_add counts one more over v and returns the new count.
local function window_add(key, field, v, now, win)
  local c, nv = window_next(v, now, win)
  redis.call('HSET', key, field, nv)
  return c
end

-- window_tick counts one more and returns the new count.
local function window_tick(key, field, now, win)
  return window_add(key, field, redis.call('HGET', key, field), now, win)
end

-- window_key_tick counts one more (n more when given) in key, a counter of its own that lives
-- ttl ms from its first count, and returns the new count.
local function window_key_tick(key, ttl, n)
  local c
  if n and n ~= 1 then
    c = redis.call('INCRBY', key, n)
  else
    n = 1
    c = redis.call('INCR', key)
  end
  if c == n then redis.call('PEXPIRE', key, ttl) end
  return c
end

-- window_take counts one more unless max are counted already; false when refused (nothing is
-- counted then).
local function window_take(key, field, now, win, max)
  local v = redis.call('HGET', key, field)
  if window_parse(v, now, win) >= max then return false end
  window_add(key, field, v, now, win)
  return true
end

