-- Ends a lease if the holder has it.
-- KEYS[1] the lease. ARGV[1] the holder.
-- Returns 1 when it ended, 0 when another holder has it (or nobody).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
