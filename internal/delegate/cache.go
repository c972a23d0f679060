package delegate

import (
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// Bounds on how long a credential stays cached when the inbound token's
// expiry cannot be read, and at most.
const (
	unknownExpiryTTL = 5 * time.Minute
	maxEntryTTL      = 24 * time.Hour
)

// cache keeps per-user values (on-behalf-of credentials, which hold their
// own token cache) in least-recently-used order, at most max of them, each
// until its expiry.
type cache[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used
	items map[string]*list.Element
}

type cacheEntry[V any] struct {
	key     string
	val     V
	expires time.Time
}

func newCache[V any](max int) *cache[V] {
	return &cache[V]{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// getOrAdd returns the live value for key, or stores and returns what build
// makes. build runs under the lock: it must be quick and do no I/O.
func (c *cache[V]) getOrAdd(key string, now time.Time, build func() (V, time.Time, error)) (V, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry[V])
		if now.Before(e.expires) {
			c.order.MoveToFront(el)
			return e.val, nil
		}
		c.order.Remove(el)
		delete(c.items, key)
	}
	v, expires, err := build()
	if err != nil {
		return v, err
	}
	c.items[key] = c.order.PushFront(&cacheEntry[V]{key: key, val: v, expires: expires})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry[V]).key)
	}
	return v, nil
}

func (c *cache[V]) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
		delete(c.items, key)
	}
}

// userKey binds a cache entry to the tenant, the user and the exact inbound
// token, so one user's delegated token never serves another user, and a new
// inbound token (new sign-in, new claims) gets a fresh exchange.
func userKey(tenant, oid, token string) string {
	sum := sha256.Sum256([]byte(token))
	return tenant + "/" + oid + "/" + hex.EncodeToString(sum[:])
}

// tokenExpiry reads exp from a JWT's payload. The token was already
// validated by the caller's auth layer; this only decides how long to keep a
// credential built on it, so the signature is not checked here.
func tokenExpiry(token string, now time.Time) time.Time {
	fallback := now.Add(unknownExpiryTTL)
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fallback
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return fallback
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fallback
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return fallback
	}
	t := time.Unix(int64(exp), 0)
	if limit := now.Add(maxEntryTTL); t.After(limit) {
		return limit
	}
	return t
}
