package identity

// Test-only views of the caches (moved out of the code in d6afee6, whose
// identity half of the test file was missing).

// fetchCount reports how many fetches were attempted.
func (s *jwksCache) fetchCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fetches
}

func (c *jwtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
