-- One chat step, atomically: deduplicate, compare the session version, count the attempt
-- before it can be accepted, check blocks and send limits, then save.
-- KEYS: 1 idempotency, 2 session, then only those the plan's parts (below) use, in this order:
-- the enrollment (attempt or send), the pending code (attempt, code, or the session going), the
-- links (link), the chat's notice menu (forget the menu), the person's language and time zone
-- (locale: kept whatever the outcome). Each key costs Redis its copy into Lua on every run.
-- ARGV: the plan, each value an argument of its own (nothing to decode; see stepPlan in
-- redis.go): 1 now (ms), 2 the session version the step read, 3 the parts the plan has, a sum of
-- the bits below; then the values of the parts it has, in the order of their bits:
--     1 idem: the message is marked handled (no values)
--     2 keep: the session is left as it is (no values)
--     4 save: the session's lifetime (ms) and data (with neither keep nor save, the session and
--       the pending code go)
--     8 forget: ms after which the counters of a subject that is no directory user go
--    16 forget the notice menu: the menu it must still be ('' whichever)
--    32 locale: language, time zone
--    64 attempt: method, the code's MAC that must be pending ('' none), the TOTP step (0 none),
--       fail max, fail window, tries max, tries window, block (ms)
--   128 the attempt is correct (no values)
--   256 the attempt spends the pending challenge whatever its outcome (no values)
--   512 put, the method's new record when the attempt is accepted: field, value, the value it
--       replaces ('' none)
--  1024 send: max, window (ms)
--  2048 code: value, lifetime (ms)
--  4096 link: purpose, value, lifetime (ms)
--  8192 the link only while no link of its purpose is held (no values)
-- Redis runs this on every step, so it stays cheap: the parts' places are found by arithmetic,
-- not by calls, and only the numbers it computes with are parsed (the versions are compared as
-- the decimals both sides write). Each number costs Redis a libc parse or print, each local
-- function an allocation per run, a table returned more than a string: numbers are parsed by
-- arithmetic (one parse, where tonumber makes two) and given to Redis as the strings they came
-- as, an enrollment's counters and block are written in one HSET, and the answer is one string.
-- Returns 'outcome version', and for some outcomes numbers after it, each after a space: 'ok'
-- (saved; the new version), 'dup' (this message was handled before), 'stale' (the session moved
-- on), 'limit' (the send limit is reached), 'blocked' (then the block's end, ms), or 'rejected'
-- (a wrong answer: then the block's end if it started one, else 0, the failures and the tries
-- counted).
local parts = ARGV[3] + 0
-- where each part's values are: after ARGV[3], those of the parts before it
local at = 4
local save, forget, menu, locale, a, put, send, code, link
if parts % 8 >= 4 then save = at; at = at + 2 end
if parts % 16 >= 8 then forget = at; at = at + 1 end
if parts % 32 >= 16 then menu = at; at = at + 1 end
if parts % 64 >= 32 then locale = at; at = at + 2 end
if parts % 128 >= 64 then a = at; at = at + 8 end
if parts % 1024 >= 512 then put = at; at = at + 3 end
if parts % 2048 >= 1024 then send = at; at = at + 2 end
if parts % 4096 >= 2048 then code = at; at = at + 2 end
if parts % 8192 >= 4096 then link = at end
local idem = parts % 2 >= 1
-- the keys after the first two: those of the parts the plan has, in their order (stepKeys)
local k = 3
local kEnrol, kCode, kLinks, kMenu, kLocale
if a or send then kEnrol = KEYS[k]; k = k + 1 end
if a or code or (parts % 4 < 2 and not save) then kCode = KEYS[k]; k = k + 1 end
if link then kLinks = KEYS[k]; k = k + 1 end
if menu then kMenu = KEYS[k]; k = k + 1 end
if locale then
  kLocale = KEYS[k]
  redis.call('HSET', kLocale, 'lang', ARGV[locale], 'tz', ARGV[locale + 1])
end

-- the message is marked handled now, in the same call that finds it was (only a stale step
-- leaves it unmarked, below; a script that fails after this line is unmarked by Commit, as
-- Redis keeps a failed script's writes)
if idem and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', '86400') then
  return 'dup 0'
end
local cur = redis.call('HGET', KEYS[2], 'v') or '0'
-- a link given back goes only where no link of its purpose is held: the person's links are one
-- per purpose across all their chats, and a newer one (from another chat) must stay
if cur ~= ARGV[2] or (link and parts % 16384 >= 8192 and redis.call('HEXISTS', kLinks, ARGV[link]) == 1) then
  if idem then redis.call('DEL', KEYS[1]) end
  return 'stale ' .. cur
end
local now = (a or send) and ARGV[1] + 0

if a then
  -- the counters of a subject that is no directory user (a name nobody has, typed on the
  -- recovery page) are counted like anyone's, and forgotten after ARGV[forget] ms (every way
  -- out of this block that writes a counter gives them that lifetime)
  -- a single-use challenge (passkeys) is spent by this attempt whatever its outcome
  local once = parts % 512 >= 256
  local method, codeMAC, step = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local try = 'c:try:' .. method
  -- what the attempt reads of the enrollment, in one call: the block, the method's tries, the
  -- failures and the last TOTP step (none of them changes before it is used)
  local e = redis.call('HMGET', kEnrol, 'block', try, 'c:fail', 'totp_step')
  local blk = (e[1] or 0) + 0
  if blk > now then
    if once then redis.call('DEL', kCode) end
    return string.format('blocked %s %d', cur, blk)
  end
  -- the attempt is counted before it is checked: t is the tries with this one, and tv the
  -- field that keeps them, written below on every outcome but acceptance (which clears it)
  local t, tv = window_next(e[2], now, ARGV[1], ARGV[a + 6])
  if t > ARGV[a + 5] + 0 then
    blk = now + ARGV[a + 7]
    redis.call('HSET', kEnrol, try, tv, 'block', string.format('%d', blk))
    if once then redis.call('DEL', kCode) end
    if forget then redis.call('PEXPIRE', kEnrol, ARGV[forget]) end
    return string.format('blocked %s %d', cur, blk)
  end
  -- nothing from here to the write of tv may raise an error: a script that fails keeps what
  -- it wrote and no more, and the attempt must be counted whatever it is (a key of the wrong
  -- type, a step that is no number: refused, not an error)
  local ok = parts % 256 >= 128
  if ok and codeMAC ~= '' then
    local v = redis.pcall('GET', kCode)
    ok = type(v) == 'string' and string.sub(v, 1, #codeMAC + 1) == codeMAC .. '|'
  end
  if ok and step ~= '0' then
    local sn, last = tonumber(step), tonumber(e[4] or '0')
    ok = sn ~= nil and last ~= nil and sn > last
  end
  if not ok then
    local f, fv = window_next(e[3], now, ARGV[1], ARGV[a + 4])
    local nb = 0
    if f >= ARGV[a + 3] + 0 then
      nb = now + ARGV[a + 7]
      redis.call('HSET', kEnrol, try, tv, 'c:fail', fv, 'block', string.format('%d', nb))
    else
      redis.call('HSET', kEnrol, try, tv, 'c:fail', fv)
    end
    if once then redis.call('DEL', kCode) end
    if forget then redis.call('PEXPIRE', kEnrol, ARGV[forget]) end
    return string.format('rejected %s %d %d %d', cur, nb, f, t)
  end
  -- accepted: the method's tries start again (what counting this one and clearing them leaves)
  if e[2] then redis.call('HDEL', kEnrol, try) end
  if step ~= '0' then redis.call('HSET', kEnrol, 'totp_step', step) end
  if forget then redis.call('PEXPIRE', kEnrol, ARGV[forget]) end
  if codeMAC ~= '' or once then redis.call('DEL', kCode) end
  -- the method's new record (a passkey's signature count), only with an accepted attempt, and
  -- only over the record it was made from (a key added meanwhile is not lost)
  if put and (redis.call('HGET', kEnrol, ARGV[put]) or '') == ARGV[put + 2] then
    redis.call('HSET', kEnrol, ARGV[put], ARGV[put + 1])
  end
end

if send then
  if not window_take(kEnrol, 'c:sent', now, ARGV[1], ARGV[send + 1], ARGV[send] + 0) then return 'limit ' .. cur end
  if forget then redis.call('PEXPIRE', kEnrol, ARGV[forget]) end
end
if code then
  redis.call('SET', kCode, ARGV[code], 'PX', ARGV[code + 1])
end
if link then
  redis.call('HSET', kLinks, ARGV[link], ARGV[link + 1])
  if redis.call('PTTL', kLinks) < ARGV[link + 2] + 0 then redis.call('PEXPIRE', kLinks, ARGV[link + 2]) end
end
local nv = cur
if parts % 4 < 2 then -- the session is not kept as it is
  if save then
    nv = string.format('%d', cur + 1)
    redis.call('HSET', KEYS[2], 'v', nv, 'data', ARGV[save + 1])
    redis.call('PEXPIRE', KEYS[2], ARGV[save])
  else
    redis.call('DEL', KEYS[2], kCode)
    nv = '0'
  end
end
-- the menu the step read, not a newer one a notice kept since
if menu and (ARGV[menu] == '' or redis.call('GET', kMenu) == ARGV[menu]) then
  redis.call('DEL', kMenu)
end
return 'ok ' .. nv
