-- Spends a single-use value (a passkey ceremony's challenge).
-- KEYS[1] the value's key.
-- Returns 1 when it was there (and is spent now), 0 when it was spent or expired before.
return redis.call('DEL', KEYS[1])
