package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Readiness answers whether storage is usable: every container can be
// listed with this server's credentials. The answer is cached for ttl, so
// that probes (a load balancer, an operator's curl) cost storage at most
// one listing per container per ttl, and each check is bounded by timeout,
// so a hung storage makes "not ready", never a hung probe.
type Readiness struct {
	c          *azblob.Client
	containers []string
	ttl        time.Duration
	timeout    time.Duration
	now        func() time.Time

	mu      sync.Mutex
	checked time.Time
	last    error
}

// NewReadiness checks the containers through c.
func NewReadiness(c *azblob.Client, ttl, timeout time.Duration, containers ...string) *Readiness {
	return &Readiness{c: c, containers: containers, ttl: ttl, timeout: timeout, now: time.Now}
}

// Check returns nil when storage is usable, else the (cached) reason.
func (r *Readiness) Check(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock() // one check at a time: concurrent probes share its answer
	if !r.checked.IsZero() && r.now().Sub(r.checked) < r.ttl {
		return r.last
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	r.last = nil
	for _, name := range r.containers {
		pager := r.c.NewListBlobsFlatPager(name, &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(1))})
		if _, err := pager.NextPage(ctx); err != nil {
			r.last = fmt.Errorf("container %q: %w", name, err)
			break
		}
	}
	r.checked = r.now()
	return r.last
}

// Explain says in words why storage is not usable; raw errors carry URLs
// (the account) and request ids, which a public endpoint must not show.
func Explain(err error) string {
	switch {
	case err == nil:
		return ""
	case IsMisconfigured(err):
		return Misconfigured
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return "storage containers are not created yet (the server creates them at start; retryable)"
	}
	return "storage is unavailable right now (" + Reason(err) + "; retryable)"
}

// ServeHTTP answers 200 {"status":"ready"}, or 503 with the reason.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	err := r.Check(req.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err == nil {
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ready"})
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "not_ready", "storage": Explain(err), "permanent": IsMisconfigured(err)})
}
