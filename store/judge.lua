-- Judge one code entered on the registration pages (a new method's first code, or a
-- registered one reconfirmed), counted in the same per-user counters as a chat step: the block
-- is checked, the try is counted before it can be accepted, a wrong code counts as a failure.
-- Durable: yes (run through runScript, so it waits for a replica under Sentinel).
-- KEYS: 1 enrollment
-- ARGV: 1 now ms, 2 method, 3 correct (1 or 0), 4 TOTP step that matched (0: none),
--       5 tries max, 6 tries window ms, 7 fail max, 8 fail window ms, 9 block ms
-- Returns {outcome, block until ms}: outcome 'ok', 'rejected' or 'blocked'.
local now = tonumber(ARGV[1])
local function fmt(n) return string.format('%d', n) end
-- tick counts one in a window of the enrollment (lib_window.lua)
local function tick(field, win)
  local c, v = window_next(redis.call('HGET', KEYS[1], field), now, ARGV[1], win)
  redis.call('HSET', KEYS[1], field, v)
  return c
end
local blk = tonumber(redis.call('HGET', KEYS[1], 'block') or '0')
if blk > now then return {'blocked', fmt(blk)} end
local block = function()
  local until_ = now + tonumber(ARGV[9])
  redis.call('HSET', KEYS[1], 'block', fmt(until_))
  return until_
end
if tick('c:try:' .. ARGV[2], tonumber(ARGV[6])) > tonumber(ARGV[5]) then
  return {'blocked', fmt(block())}
end
local ok = ARGV[3] == '1'
local step = tonumber(ARGV[4])
if ok and step > 0 then
  ok = step > tonumber(redis.call('HGET', KEYS[1], 'totp_step') or '0')
end
if not ok then
  local nb = 0
  if tick('c:fail', tonumber(ARGV[8])) >= tonumber(ARGV[7]) then nb = block() end
  return {'rejected', fmt(nb)}
end
redis.call('HDEL', KEYS[1], 'c:try:' .. ARGV[2])
if step > 0 then redis.call('HSET', KEYS[1], 'totp_step', fmt(step)) end
return {'ok', '0'}
