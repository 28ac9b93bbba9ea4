-- Writes a batch of audit events in order, each with what counts and finds it, in one atomic
-- step. Every key is in the audit stream's slot ({audit}), so this runs on Redis Cluster too.
-- KEYS[1] the stream, KEYS[2] the shipped cursor, KEYS[3] the count of events trimmed unshipped;
-- then in the events' order, the keys each needs (each key costs a copy into Lua): its subject's
-- index when its subject is not the previous subject's of the batch (an event without one
-- leaves it as it is), and the day's counter for its kind when it counts.
-- ARGV[1] the stream's cap, ARGV[2] the index's cap, ARGV[3] the counter's and index's lifetime
-- in seconds, ARGV[4] one byte per event, '1' when it counts; then seven arguments per event,
-- each a value as it is written: its time, actor, subject, platform, action, outcome and reason
-- (ARGV[5+7(i-1)] on). An event with a subject is indexed under it. Nothing here parses a value.
-- Each command costs Redis more than its work (a call from Lua, a copy in the append-only file),
-- so a batch writes each index and counter once: the ids of one subject's events with no other
-- subject's between them go in one LPUSH (newest first, as one push each would leave them), and
-- each counter is added to once with all of its kind's events in the batch. What is stored is what one event at a
-- time would store.
-- Returns how many events never shipped the stream's cap trimmed.
local keep = ARGV[2] + 0
local counts = ARGV[4]
local expiring = {} -- the indexes given their lifetime by this batch
local adds, counters = {}, {} -- each counter's events in this batch, and the counters in order
local run, n, index = {}, 0, nil -- the ids of the latest events of one subject, not pushed yet
local k, subject = 4, nil -- the next event's first key; the subject of the latest event with one
local function push()
  -- the index keeps its newest ids; a trim only when this push took it past the cap
  if redis.call('LPUSH', index, unpack(run, 1, n)) > keep then
    redis.call('LTRIM', index, 0, keep - 1)
  end
  -- once a batch: a push or a trim leaves the lifetime as it is
  if not expiring[index] then
    redis.call('EXPIRE', index, ARGV[3])
    expiring[index] = true
  end
end
for i = 1, (#ARGV - 4) / 7 do
  local v = 7 * i - 3 -- ARGV[v + 1] is the event's time
  local id = redis.call('XADD', KEYS[1], '*', 'time', ARGV[v + 1], 'actor', ARGV[v + 2], 'subject', ARGV[v + 3],
    'platform', ARGV[v + 4], 'action', ARGV[v + 5], 'outcome', ARGV[v + 6], 'reason', ARGV[v + 7])
  local s = ARGV[v + 3]
  if s ~= '' then
    if s ~= subject then -- another person's events start: the previous person's ids go
      if n > 0 then push() end
      subject, index, n = s, KEYS[k], 0
      k = k + 1
    end
    n = n + 1
    run[n] = id
  end
  if string.byte(counts, i) == 49 then -- '1'
    local key = KEYS[k]
    k = k + 1
    local c = adds[key]
    if c then
      adds[key] = c + 1
    else
      adds[key] = 1
      counters[#counters + 1] = key
    end
  end
end
if n > 0 then push() end
for _, key in ipairs(counters) do
  window_key_tick(key, ARGV[3] * 1000, adds[key])
end
-- the cap, once for the batch (the oldest entries go, as they would one event at a time): count
-- the entries about to go that the shipper has not passed yet
local over = redis.call('XLEN', KEYS[1]) - ARGV[1]
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
  redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1])
  if lost > 0 then redis.call('INCRBY', KEYS[3], lost) end
end
return lost
