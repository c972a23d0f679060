package identity

import (
	"crypto/sha256"
	"sync"
	"time"
)

// jwtCache remembers tokens that passed every check, keyed by the
// SHA-256 of the raw token, so the hot path skips the signature check. It
// never holds a token that failed, and never the token itself.
type jwtCache struct {
	mu        sync.Mutex
	max       int
	entries   map[[sha256.Size]byte]jwtCacheEntry
	lastSweep time.Time
}

type jwtCacheEntry struct {
	id    Identity  // without the bearer token
	until time.Time // min(expiry + skew, verified + max age): never later than the token's own expiry
}

// jwtCacheSweepEvery bounds how often a full cache is scanned for expired entries,
// so a flood of distinct valid tokens does not make every insert O(n).
const jwtCacheSweepEvery = 10 * time.Second

func newJWTCache(max int) *jwtCache {
	return &jwtCache{max: max, entries: make(map[[sha256.Size]byte]jwtCacheEntry)}
}

// get returns the cached identity while now is before the entry's deadline.
func (c *jwtCache) get(key [sha256.Size]byte, now time.Time) (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Identity{}, false
	}
	if !now.Before(e.until) {
		delete(c.entries, key)
		return Identity{}, false
	}
	return e.id, true
}

func (c *jwtCache) put(key [sha256.Size]byte, id Identity, until, now time.Time) {
	if c.max <= 0 || !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.makeRoom(now)
	}
	c.entries[key] = jwtCacheEntry{id: id, until: until}
}

// makeRoom drops expired entries (at most once per jwtCacheSweepEvery) and, if the
// cache is still full, arbitrary ones: map order is random, and any evicted
// token is merely verified again on its next use.
func (c *jwtCache) makeRoom(now time.Time) {
	if now.Sub(c.lastSweep) >= jwtCacheSweepEvery {
		c.lastSweep = now
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			break
		}
		delete(c.entries, k)
	}
}
