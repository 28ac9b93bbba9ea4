-- The fixed window every per-person counter uses (tries per method, failures, codes sent): it is
-- kept in one hash field as 'count:start', and a window starts with its first count and ends win
-- ms later. script() puts this file in front of the scripts that count in such a field (step.lua,
-- judge.lua, count_send.lua), so there is one implementation; it is a library, not a script of
-- its own. (A counter with a key of its own is lib_window_key.lua's.) Each local function here is
-- made anew on every run of a script that has it, so there are only those the scripts need.

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

-- window_take counts one more unless max are counted already; false when refused (nothing is
-- counted then).
local function window_take(key, field, now, win, max)
  local c, v = window_next(redis.call('HGET', key, field), now, win)
  if c > max then return false end
  redis.call('HSET', key, field, v)
  return true
end
