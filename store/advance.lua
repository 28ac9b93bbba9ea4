-- Moves the audit shipping cursor, only while the shipper still holds the shipping lease.
-- KEYS[1] the lease, KEYS[2] the cursor. ARGV[1] the shipper, ARGV[2] the last id shipped.
-- Returns 1 when moved, 0 when the lease has passed to another replica.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
