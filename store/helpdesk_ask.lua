-- Counts a helpdesk verification request for a person in a sliding window (three an hour): the
-- times of the window's requests are a sorted set; a request beyond the maximum is refused and
-- not counted.
-- KEYS[1] the person's requests, KEYS[2] their sequence (members stay distinct).
-- ARGV[1] now (ms), ARGV[2] the window (ms), ARGV[3] the maximum.
-- Returns 1 when counted, 0 when refused.
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1] .. '-' .. redis.call('INCR', KEYS[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
