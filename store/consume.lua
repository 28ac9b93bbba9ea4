-- Consume a one-time link: it must still be the current link of its purpose, and its session
-- must still have the bound version. Then save or delete the session.
-- KEYS: 1 links, 2 session. ARGV: 1 purpose, 2 stored link value, 3 bound version,
-- 4 new session data ('' deletes), 5 session ttl ms
-- Returns 1 when consumed, 0 when the link is no longer current or the session moved on.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if tonumber(redis.call('HGET', KEYS[2], 'v') or '0') ~= tonumber(ARGV[3]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('HSET', KEYS[2], 'v', string.format('%d', tonumber(ARGV[3]) + 1), 'data', ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return 1
