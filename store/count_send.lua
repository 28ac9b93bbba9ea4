-- Counts one code sent outside a chat step (the registration pages) against the person's send
-- limit, in the same fixed window as the chat's sends.
-- KEYS[1] the enrollment. ARGV[1] now (ms), ARGV[2] the window (ms), ARGV[3] the maximum.
-- Returns 1 when counted, 0 when the limit is reached (nothing is sent then).
if not window_take(KEYS[1], 'c:sent', ARGV[1] + 0, ARGV[1], ARGV[2], ARGV[3] + 0) then return 0 end
return 1
