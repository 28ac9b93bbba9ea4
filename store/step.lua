-- One chat step, atomically: deduplicate, compare the session version, count the attempt
-- before it can be accepted, check blocks and send limits, then save.
-- KEYS: 1 idempotency, 2 session, 3 enrollment, 4 pending code, 5 links, 6 the chat's notice menu,
-- 7 the person's language and time zone (kept when the plan has a locale, whatever the outcome)
-- ARGV[1]: the plan as JSON (see redis.go); ARGV[2]: the session's data when the plan saves it
-- Returns {outcome, session version, ...}: 'ok' (saved; the new version), 'dup' (this message
-- was handled before), 'stale' (the session moved on), 'blocked' (and the block's end, ms),
-- 'limit' (the send limit is reached), or 'rejected' (a wrong answer: the block's end if it
-- started one, the failures and the tries counted).
local p = cjson.decode(ARGV[1])
local now = tonumber(p.now)
local function fmt(n) return string.format('%d', n) end
if p.locale then
  redis.call('HSET', KEYS[7], 'lang', p.locale.lang, 'tz', p.locale.tz)
end

if p.idem and redis.call('EXISTS', KEYS[1]) == 1 then
  return {'dup', '0', '0'}
end
local cur = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
if cur ~= tonumber(p.expect) then
  return {'stale', fmt(cur), '0'}
end
-- a link given back goes only where no link of its purpose is held: the person's links are one
-- per purpose across all their chats, and a newer one (from another chat) must stay
if p.link and p.link.if_free and redis.call('HEXISTS', KEYS[5], p.link.purpose) == 1 then
  return {'stale', fmt(cur), '0'}
end
local function markSeen()
  if p.idem then redis.call('SET', KEYS[1], '1', 'EX', 86400) end
end
-- the counters of a subject that is no directory user (a name nobody has, typed on the
-- recovery page) are counted like anyone's, and forgotten after p.forget ms
local function forget()
  if p.forget then redis.call('PEXPIRE', KEYS[3], fmt(tonumber(p.forget))) end
end
-- tick counts one in a window of the enrollment (lib_window.lua)
local function tick(field, win)
  local c = window_tick(KEYS[3], field, now, win)
  forget()
  return c
end
local function blockedUntil()
  return tonumber(redis.call('HGET', KEYS[3], 'block') or '0')
end

local a = p.attempt
if a then
  -- a single-use challenge (passkeys) is spent by this attempt whatever its outcome
  local function spend()
    if a.once then redis.call('DEL', KEYS[4]) end
  end
  local blk = blockedUntil()
  if blk > now then spend(); markSeen(); return {'blocked', fmt(cur), fmt(blk)} end
  local t = tick('c:try:' .. a.method, tonumber(a.tries_win))
  if t > tonumber(a.tries_max) then
    blk = now + tonumber(a.block_ms)
    redis.call('HSET', KEYS[3], 'block', fmt(blk))
    spend()
    forget()
    markSeen()
    return {'blocked', fmt(cur), fmt(blk)}
  end
  local ok = a.correct
  if ok and a.code_mac ~= '' then
    local v = redis.call('GET', KEYS[4])
    ok = v and string.sub(v, 1, #a.code_mac + 1) == a.code_mac .. '|'
  end
  if ok and tonumber(a.step) > 0 then
    local last = tonumber(redis.call('HGET', KEYS[3], 'totp_step') or '0')
    ok = tonumber(a.step) > last
  end
  if not ok then
    local f = tick('c:fail', tonumber(a.fail_win))
    local nb = 0
    if f >= tonumber(a.fail_max) then
      nb = now + tonumber(a.block_ms)
      redis.call('HSET', KEYS[3], 'block', fmt(nb))
      forget()
    end
    spend()
    markSeen()
    return {'rejected', fmt(cur), fmt(nb), fmt(f), fmt(t)}
  end
  redis.call('HDEL', KEYS[3], 'c:try:' .. a.method)
  if a.code_mac ~= '' then redis.call('DEL', KEYS[4]) end
  if tonumber(a.step) > 0 then redis.call('HSET', KEYS[3], 'totp_step', fmt(tonumber(a.step))) end
  spend()
  -- the method's new record (a passkey's signature count), only with an accepted attempt, and
  -- only over the record it was made from (a key added meanwhile is not lost)
  if a.put and (redis.call('HGET', KEYS[3], a.put.field) or '') == a.put.expect then
    redis.call('HSET', KEYS[3], a.put.field, a.put.val)
  end
end

local s = p.send
if s then
  if not window_take(KEYS[3], 'c:sent', now, tonumber(s.win), tonumber(s.max)) then markSeen(); return {'limit', fmt(cur), '0'} end
  forget()
end
if p.code then
  redis.call('SET', KEYS[4], p.code.val, 'PX', fmt(tonumber(p.code.ttl)))
end
if p.link then
  redis.call('HSET', KEYS[5], p.link.purpose, p.link.val)
  local ttl = redis.call('PTTL', KEYS[5])
  if ttl < tonumber(p.link.ttl) then redis.call('PEXPIRE', KEYS[5], fmt(tonumber(p.link.ttl))) end
end
local nv = cur
if not p.keep then
  if p.save then
    nv = cur + 1
    redis.call('HSET', KEYS[2], 'v', fmt(nv), 'data', ARGV[2])
    redis.call('PEXPIRE', KEYS[2], fmt(tonumber(p.save.ttl)))
  else
    redis.call('DEL', KEYS[2], KEYS[4])
    nv = 0
  end
end
-- the menu the step read, not a newer one a notice kept since
if p.forget_menu and (not p.menu_was or redis.call('GET', KEYS[6]) == p.menu_was) then
  redis.call('DEL', KEYS[6])
end
markSeen()
return {'ok', fmt(nv), '0'}
