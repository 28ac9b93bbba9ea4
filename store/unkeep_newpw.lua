-- Puts back the new password's record (and its count of checks) that consume.lua replaced when
-- the directory then refused the password, unless a newer record was kept since.
-- KEYS[1] the kept record, KEYS[2] its count of checks.
-- ARGV[1] the record consume.lua kept; ARGV[2] the one it replaced ('' none), ARGV[3] that
-- one's pttl; ARGV[4] the count it replaced ('' none), ARGV[5] that one's pttl.
-- Returns 1 when put back, 0 when a newer record is kept.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local function restore(key, v, pttl)
  if v == '' then
    redis.call('DEL', key)
  elseif tonumber(pttl) == -1 then
    redis.call('SET', key, v)
  else
    -- PTTL says 0 for a key about to expire: it goes at once, not never
    redis.call('SET', key, v, 'PX', math.max(tonumber(pttl), 1))
  end
end
restore(KEYS[1], ARGV[2], ARGV[3])
restore(KEYS[2], ARGV[4], ARGV[5])
return 1
