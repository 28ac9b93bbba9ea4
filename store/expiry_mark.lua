-- Marks one password-expiry reminder stage as sent, once, and the first time records the last
-- reminder (for the report's "changed after a reminder").
-- KEYS[1] the person's expiry record. ARGV[1] the stage's field, ARGV[2] now (ms), ARGV[3] the
-- password's expiry (ms), ARGV[4] the record's lifetime (ms).
-- Returns 1 when this call marked it (send the reminder), 0 when it was marked before.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last', ARGV[2], 'last_exp', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
