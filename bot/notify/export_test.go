package notify

// OnWait makes s call f whenever a sender starts waiting for a relay session.
func OnWait(s *SMTP, f func()) {
	s.mu.Lock()
	s.onWait = f
	s.mu.Unlock()
}
