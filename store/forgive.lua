-- Gives back a sign-in attempt that succeeded (signin.lua counted it before it was tried).
-- KEYS[1] the person's counter of the day.
-- Returns 1.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 1
