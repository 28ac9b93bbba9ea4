-- Registers a passkey only with its registration challenge, which it spends: a challenge
-- answered twice registers once.
-- KEYS[1] the challenge, KEYS[2] the enrollment. ARGV[1] the method's field, ARGV[2] its sealed
-- record.
-- Returns 1 when registered, 0 when the challenge was spent or expired.
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
