-- Marks a pending policy change confirmed by the bot admin who asked for it.
-- KEYS[1] the pending change. ARGV[1] the admin confirming.
-- Returns 'ok', 'none' (no pending change) or 'other' (another admin asked for it).
local v = redis.call('GET', KEYS[1])
if not v then return 'none' end
local c = cjson.decode(v)
if c.by ~= ARGV[1] then return 'other' end
c.confirmed = true
redis.call('SET', KEYS[1], cjson.encode(c), 'KEEPTTL')
return 'ok'
