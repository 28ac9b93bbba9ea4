-- Writes a batch of audit events in order, each with what counts and finds it, in one atomic
-- step. Every key is in the audit stream's slot ({audit}), so this runs on Redis Cluster too.
-- KEYS[1] the stream, KEYS[2] the shipped cursor, KEYS[3] the count of events trimmed unshipped;
-- then for the i-th event KEYS[2+2i] its subject's index and KEYS[3+2i] the day's counter for
-- its kind.
-- ARGV[1] the stream's cap, ARGV[2] the index's cap, ARGV[3] the counter's and index's lifetime
-- in seconds; ARGV[3+i] the i-th event: '1' when it has a subject to index (else '0'), '1' when
-- it counts, then its values of time, actor, subject, platform, action, outcome and reason, each
-- written as its length in bytes, a colon and the value.
-- Returns how many events never shipped the stream's cap trimmed.
local names = {'time', 'actor', 'subject', 'platform', 'action', 'outcome', 'reason'}
local ttl = tonumber(ARGV[3])
local keep = tonumber(ARGV[2]) - 1
for i = 4, #ARGV do
  local ev = ARGV[i]
  local fields, pos = {}, 3
  for _, name in ipairs(names) do
    local colon = string.find(ev, ':', pos, true)
    local n = tonumber(string.sub(ev, pos, colon - 1))
    fields[#fields + 1] = name
    fields[#fields + 1] = string.sub(ev, colon + 1, colon + n)
    pos = colon + n + 1
  end
  local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
  local k = 2 * (i - 3)
  if string.sub(ev, 2, 2) == '1' then
    window_key_tick(KEYS[k + 3], ttl * 1000)
  end
  if string.sub(ev, 1, 1) == '1' then
    redis.call('LPUSH', KEYS[k + 2], id)
    redis.call('LTRIM', KEYS[k + 2], 0, keep)
    redis.call('EXPIRE', KEYS[k + 2], ttl)
  end
end
-- the cap, once for the batch (the oldest entries go, as they would one event at a time): count
-- the entries about to go that the shipper has not passed yet
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
return lost
