-- Writes one audit event with what counts and finds it, in one atomic step. Every key is in the
-- audit stream's slot ({audit}), so this runs on Redis Cluster too.
-- KEYS[1] the stream, KEYS[2] the shipped cursor, KEYS[3] the count of events trimmed unshipped,
-- KEYS[4] the subject's index, KEYS[5] the day's counter for the event's kind.
-- ARGV[1] the stream's cap, ARGV[2] the index's cap, ARGV[3] the counter's and index's lifetime
-- in seconds, ARGV[4] '1' when the event has a subject to index, ARGV[5] '1' when it counts,
-- ARGV[6...] the event's field/value pairs.
-- Returns {id, how many events never shipped were trimmed}.
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
local ttl = tonumber(ARGV[3])
if ARGV[5] == '1' then
  window_key_tick(KEYS[5], ttl * 1000)
end
if ARGV[4] == '1' then
  redis.call('LPUSH', KEYS[4], id)
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[2]) - 1)
  redis.call('EXPIRE', KEYS[4], ttl)
end
-- the cap: count the entries about to go that the shipper has not passed yet
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
local lost = 0
if over > 0 then
  local cur = redis.call('GET', KEYS[2]) or '0-0'
  local cms, cseq = string.match(cur, '^(%d+)-(%d+)$')
  cms, cseq = tonumber(cms) or 0, tonumber(cseq) or 0
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', over)) do
    local ms, seq = string.match(e[1], '^(%d+)-(%d+)$')
    ms, seq = tonumber(ms), tonumber(seq)
    if ms > cms or (ms == cms and seq > cseq) then lost = lost + 1 end
  end
  redis.call('XTRIM', KEYS[1], 'MAXLEN', tonumber(ARGV[1]))
  if lost > 0 then redis.call('INCRBY', KEYS[3], lost) end
end
return {id, lost}
