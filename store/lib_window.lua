-- The fixed window every per-person counter uses (tries per method, failures, codes sent): it is
-- kept in one hash field as 'count:start', and a window starts with its first count and ends win
-- ms later. script() puts this file in front of the scripts that count in such a field (step.lua,
-- judge.lua, count_send.lua), so there is one implementation; it is a library, not a script of
-- its own. (A counter with a key of its own is lib_window_key.lua's.) Each local function here is
-- made anew on every run of a script that has it, so there are only those the scripts need.

-- window_next is the count with one more over v, the field's value as read in this script (false
-- when nothing was counted), and the value that keeps it, for the caller to write. A window
-- that has passed starts again at now; nows is now as the decimal the script was given, written
-- as it came, and the start of a window that goes on is kept as it was read (Redis prints a
-- number with libc's printf, dearer than joining strings). win may be the string of a number.
local function window_next(v, now, nows, win)
  if v then
    local c, s = string.match(v, '^(%d+):(%d+)$')
    if c and now < s + win then
      c = c + 1
      return c, string.format('%d:%s', c, s)
    end
  end
  return 1, '1:' .. nows
end

-- window_take counts one more unless max are counted already; false when refused (nothing is
-- counted then).
local function window_take(key, field, now, nows, win, max)
  local c, v = window_next(redis.call('HGET', key, field), now, nows, win)
  if c > max then return false end
  redis.call('HSET', key, field, v)
  return true
end
