-- Removes one registered method from the person's enrollment (run as a script so that, under
-- Sentinel, it waits for a replica like every other write of an enrollment).
-- KEYS[1] the enrollment. ARGV[1] the method's field.
-- Returns 1 when removed, 0 when it was not there.
return redis.call('HDEL', KEYS[1], ARGV[1])
