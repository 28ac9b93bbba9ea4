-- Counts one code sent outside a chat step (the registration pages) against the person's send
-- limit, in the same fixed window as the chat's sends.
-- KEYS[1] the enrollment. ARGV[1] now (ms), ARGV[2] the window (ms), ARGV[3] the maximum.
-- Returns 1 when counted, 0 when the limit is reached (nothing is sent then).
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
