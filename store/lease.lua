-- Takes or renews a named lease (one replica at a time does a job: lockout polling, audit
-- shipping).
-- KEYS[1] the lease. ARGV[1] the holder, ARGV[2] its lifetime (ms).
-- Returns 1 when the holder has the lease now, 0 when another holder has it.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
