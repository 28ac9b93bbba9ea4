-- Drops the audit events older than the age cap (AUDIT_MAX_AGE) and counts those the shipper had
-- not passed yet, in one atomic step, as audit.lua does for the length cap: an event trimmed
-- before it was shipped is lost to the security team, so it raises the metric and the ALERT.
-- Every key is in the audit stream's slot ({audit}).
-- KEYS[1] the stream, KEYS[2] the shipped cursor, KEYS[3] the count of events trimmed unshipped.
-- ARGV[1] the age cap as a stream id ('<ms>-0'): every older entry goes.
-- Returns how many of the trimmed events had not been shipped.
local minid = ARGV[1]
local mms = tonumber(string.match(minid, '^(%d+)-0$'))
if not mms then return redis.error_reply('audit_age: bad minimum id ' .. minid) end
local cur = redis.call('GET', KEYS[2]) or '0-0'
local cms, cseq = string.match(cur, '^(%d+)-(%d+)$')
if not cms then cms, cseq = '0', '0' end
-- first the shipped part: the entries up to and including the cursor (when it is older than the
-- cap); then everything else older than the cap, which was never shipped
if tonumber(cms) < mms then
  redis.call('XTRIM', KEYS[1], 'MINID', cms .. '-' .. string.format('%d', tonumber(cseq) + 1))
end
local lost = redis.call('XTRIM', KEYS[1], 'MINID', minid)
if lost > 0 then redis.call('INCRBY', KEYS[3], lost) end
return lost
