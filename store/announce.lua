-- Records one AD lockout (a person and the time of the lockout) once, and counts it against the
-- person's lockout alerts of the day.
-- KEYS[1] the lockout's marker, KEYS[2] the person's alerts of the day.
-- ARGV[1] the most alerts a day, ARGV[2] the day counter's lifetime (ms), ARGV[3] the marker's
-- lifetime (ms).
-- Returns 1 when the lockout is to be announced, 0 when it was already or the day's are used up.
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) == false then return 0 end
if window_key_tick(KEYS[2], ARGV[2]) > tonumber(ARGV[1]) then return 0 end
return 1
