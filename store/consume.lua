-- Consume a one-time link: it must still be the current link of its purpose, and its session
-- must still have the bound version. Then save or delete the session, and (the reset page) keep
-- the new password's record as keep_newpw.lua does, with a count of checks of its own, and read
-- the registered email method (the reset's email notice goes there too).
-- KEYS: 1 links, 2 session; when keeping, 3 the kept record, 4 its count of checks, 5 enrollment.
-- ARGV: 1 purpose, 2 stored link value, 3 bound version, 4 new session data ('' deletes),
-- 5 session ttl ms; when keeping, 6 the record, 7 its lifetime ms, 8 the email method's field.
-- Returns 0 when the link is no longer current or the session moved on; else 1, or when keeping
-- {1, record replaced, its pttl, count replaced, its pttl, sealed email method} ('' and -2 for
-- a missing key, '' for no email method).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
-- the versions compared as the decimals both sides write (as step.lua does: no number parsed)
if (redis.call('HGET', KEYS[2], 'v') or '0') ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], 'v', string.format('%d', ARGV[3] + 1), 'data', ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
elseif not KEYS[3] then
  redis.call('DEL', KEYS[2])
end
if not KEYS[3] then return 1 end
local rec, recttl = redis.call('GET', KEYS[3]) or '', redis.call('PTTL', KEYS[3])
local n, nttl = redis.call('GET', KEYS[4]) or '', redis.call('PTTL', KEYS[4])
redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[7])
-- the count of checks goes, and with it a session not saved (one DEL for both)
if ARGV[4] == '' then
  redis.call('DEL', KEYS[2], KEYS[4])
else
  redis.call('DEL', KEYS[4])
end
return {1, rec, recttl, n, nttl, redis.call('HGET', KEYS[5], ARGV[8]) or ''}
