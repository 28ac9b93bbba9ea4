-- Stores a single-use value (a passkey ceremony's challenge) for a short time.
-- KEYS[1] the value's key. ARGV[1] its lifetime (ms).
-- Returns 1.
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
