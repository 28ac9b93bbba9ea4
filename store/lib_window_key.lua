-- The fixed window of a counter with a key of its own (the recovery page's buckets, a day's
-- sign-ins or lockout alerts, a day's audit counts): the count is the key's value, and the window
-- is the key's lifetime from its first count. script() puts this file in front of the scripts
-- that count in such a key (ratelimit.lua, signin.lua, announce.lua, audit.lua), so there is one
-- implementation; it is a library, not a script of its own. (A per-person counter in a hash field
-- is lib_window.lua's.)

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
