-- Takes a confirmed pending policy change for its approval by a second bot admin: never by the
-- admin who asked for it.
-- KEYS[1] the pending change. ARGV[1] the approving admin.
-- Returns {'ok', the change}, or {'none' | 'same' | 'unconfirmed', ''}.
local v = redis.call('GET', KEYS[1])
if not v then return {'none', ''} end
local c = cjson.decode(v)
if c.by == ARGV[1] then return {'same', ''} end
if not c.confirmed then return {'unconfirmed', ''} end
redis.call('DEL', KEYS[1])
return {'ok', v}
