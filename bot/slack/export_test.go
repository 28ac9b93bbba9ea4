package slack

// CachedUsers is how many people the adapter's users.info cache holds (for tests).
func CachedUsers(a *Adapter) int { return a.cachedUsers() }
