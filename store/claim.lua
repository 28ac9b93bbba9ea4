-- Claims up to n due members of a reminder queue for one replica: each one's score moves to
-- now + lease, so the members of a replica that dies are due again when its lease runs out.
-- KEYS[1] the queue (a sorted set scored by due time in ms).
-- ARGV[1] now (ms), ARGV[2] the lease (ms), ARGV[3] n.
-- Returns the claimed members.
local now, lease, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n)
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', now + lease, m) end
return due
