package flows

// CachedIdentities is how many chat identities the engine's identity cache holds (for tests).
func CachedIdentities(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.idents)
}
