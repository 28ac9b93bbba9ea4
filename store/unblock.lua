-- Clears a person's block and attempt counters (a bot admin's unblock), not the send counter.
-- KEYS[1] the enrollment.
-- Returns 1.
local f = redis.call('HKEYS', KEYS[1])
for _, k in ipairs(f) do
  if k == 'block' or k == 'c:fail' or string.sub(k, 1, 6) == 'c:try:' then redis.call('HDEL', KEYS[1], k) end
end
return 1
