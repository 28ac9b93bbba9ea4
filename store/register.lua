-- Stores one registered method (sealed) in the person's enrollment; a TOTP step, when given,
-- only ever moves forward (a code used once stays used).
-- KEYS[1] the enrollment. ARGV[1] the method's field, ARGV[2] its sealed record, ARGV[3] the TOTP
-- step last used (0: none).
-- Returns 1.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local c = tonumber(redis.call('HGET', KEYS[1], 'totp_step') or '0')
if tonumber(ARGV[3]) > c then redis.call('HSET', KEYS[1], 'totp_step', ARGV[3]) end
return 1
