-- Read a one-time link and the session it is bound to, in one round trip (a page request
-- reads it before anything else). Reads only; the caller checks the link's MAC.
-- KEYS: 1 the person's links. ARGV: 1 purpose, 2 the person's session key up to the chat
-- ('{u:<id>}:s:'): the session's key is that and the link's chat, in the links' slot.
-- Returns {} when there is no such link, else {link value, session version, session data}
-- ('' for a missing session or field).
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return {} end
-- the chat: between the value's first and second '|' (found as plain text, cheaper than a
-- pattern over the MAC before it)
local i = string.find(v, '|', 1, true)
local j = i and string.find(v, '|', i + 1, true)
if not j then return {v, '', ''} end
local chat = string.sub(v, i + 1, j - 1)
local s = redis.call('HMGET', ARGV[2] .. chat, 'v', 'data')
return {v, s[1] or '', s[2] or ''}
