-- Saves a helpdesk verification request if the stored one is still the one read (its id and
-- version), so two answers cannot both count.
-- KEYS[1] the request. ARGV[1] its id, ARGV[2] the version read, ARGV[3] the new record.
-- Returns 1 when saved, 0 when it changed or ended meanwhile.
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if not ok or rec['id'] ~= ARGV[1] or tonumber(rec['v']) ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
return 1
