package notify

// Kept is how many sessions s keeps for the next message.
func Kept(s *SMTP) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.idle)
}

// OnWait makes s call f whenever a sender starts waiting for a relay session.
func OnWait(s *SMTP, f func()) {
	s.mu.Lock()
	s.onWait = f
	s.mu.Unlock()
}
