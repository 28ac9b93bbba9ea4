-- Count one code sent outside a chat step. KEYS: 1 enrollment. ARGV: 1 now ms, 2 window ms, 3 max
local now = tonumber(ARGV[1])
local c, s = 0, now
local v = redis.call('HGET', KEYS[1], 'c:sent')
if v then
  local vc, vs = string.match(v, '^(%d+):(%d+)$')
  vc = tonumber(vc); vs = tonumber(vs)
  if vc and vs and now < vs + tonumber(ARGV[2]) then c, s = vc, vs end
end
if c >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'c:sent', string.format('%d:%d', c + 1, s))
return 1
