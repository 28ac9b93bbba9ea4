-- Blocks a person's self-service until a time; it never shortens a longer block.
-- KEYS[1] the enrollment. ARGV[1] the block's end (ms).
-- Returns 1.
local c = tonumber(redis.call('HGET', KEYS[1], 'block') or '0')
if tonumber(ARGV[1]) > c then redis.call('HSET', KEYS[1], 'block', ARGV[1]) end
return 1
