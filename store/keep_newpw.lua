-- Keeps the keyed hash of the password a page just set, with a count of checks of its own.
-- KEYS[1] the kept hash, KEYS[2] its count of checks (both of one subject).
-- ARGV[1] the record, ARGV[2] its lifetime (ms).
-- Returns 1.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
