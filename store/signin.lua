-- Counts a password sign-in attempt on the registration page before it is tried (AD only): it is
-- refused, and not counted, when the day's attempts are used up. A day is a UTC calendar day.
-- KEYS[1] the person's counter of the day. ARGV[1] the day's maximum, ARGV[2] the counter's
-- lifetime (ms).
-- Returns 1 when the attempt may go ahead, 0 when refused.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
window_key_tick(KEYS[1], ARGV[2])
return 1
