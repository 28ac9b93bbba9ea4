-- Extends a replica's lease on one queued member, if the lease is still the one it took.
-- KEYS[1] the queue. ARGV[1] the member, ARGV[2] the lease's end it expects (ms), ARGV[3] the new
-- end (ms).
-- Returns 1 when renewed, 0 when another replica has claimed the member since.
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
