package flows

// unlockNotice explains that, for a cloud-only account, unlocking means a reset: Entra ID has
// no unlock operation and clears its smart lockout when the password is reset.
func unlockNotice(s *step) {
	if !s.acct.Synced {
		s.say(MsgUnlockIsReset)
	}
}
