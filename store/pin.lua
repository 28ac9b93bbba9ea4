-- Pins a chat identity to a directory user, unless it is pinned already.
-- KEYS[1] the chat identity's pin. ARGV[1] the directory user's id.
-- Returns the user the identity is pinned to now (another one: the pin was refused).
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
