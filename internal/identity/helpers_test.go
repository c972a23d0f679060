package identity

// Test-only views of internal state; they are not part of the production types.

// fetchCount reports how many fetches were attempted; tests use it.
func (s *jwksCache) fetchCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fetches
}

// len is the number of cached verifications.
func (c *jwtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
