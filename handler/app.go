package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/config"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/httpx"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/inventory"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/prm"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
	"github.com/snippets-mcp/server/policies"
	"github.com/snippets-mcp/server/tools"
)

// app is the wired server: its HTTP handler and what must be closed.
type app struct {
	handler http.Handler
	close   func(context.Context) error
}

// build wires configuration into the HTTP handler: hardening, then
// authentication, then the MCP server.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout, stderr io.Writer) (*app, error) {
	blob, err := connectStorage(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	authn, meta, err := authenticator(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	profiles, err := delegator(cfg.Delegate)
	if err != nil {
		return nil, err
	}
	auditor, err := openAuditor(cfg, blob, stdout, stderr)
	if err != nil {
		return nil, err
	}
	ts, err := toolSet(cfg, log, blob, profiles, auditor)
	if err != nil {
		return nil, err
	}
	mcpH := mcpHandler(cfg, log, ts, authn, meta, auditor)
	return &app{handler: routes(cfg, log, blob, meta, mcpH), close: auditor.Close}, nil
}

// connectStorage opens the blob client and creates the containers in the
// background, so a slow or absent storage does not delay the host's start.
func connectStorage(ctx context.Context, cfg *config.Config, log *slog.Logger) (*azblob.Client, error) {
	blob, err := storage.Connect(cfg.Storage)
	if err != nil {
		return nil, &config.Error{Var: cfg.StorageSetting, Msg: err.Error()}
	}
	containers := []string{snippets.Container, approval.Container}
	if a := cfg.Audit.Anchors; a.Interval > 0 {
		containers = append(containers, a.Container)
	}
	go ensureContainers(ctx, log, blob, containers...)
	return blob, nil
}

// openAuditor opens the audit log and, when configured, anchors its chain
// head periodically and at shutdown to an immutable container.
func openAuditor(cfg *config.Config, blob *azblob.Client, stdout, stderr io.Writer) (*audit.Auditor, error) {
	auditor, err := audit.Open(cfg.Audit, stdout, stderr, nil)
	if err != nil {
		return nil, err
	}
	if a := cfg.Audit.Anchors; a.Interval > 0 {
		auditor.StartAnchors(audit.AnchorOptions{Store: audit.NewBlobAnchors(blob, a.Container), Interval: a.Interval, Explain: storage.Reason})
	}
	return auditor, nil
}

// toolSet builds the tools and their authorization: the policy engine
// over the operator's rules and the agent inventory from their settings,
// else from the files embedded from policies/ (what azd up deploys). An
// error in one of them names its setting (or embedded file).
func toolSet(cfg *config.Config, log *slog.Logger, blob *azblob.Client, profiles tools.ProfileSource, auditor *audit.Auditor) (*tools.Server, error) {
	op, agents := cfg.OperatorPolicy, cfg.AgentInventory
	if !op.Set() {
		op = config.Text{Bytes: policies.Operator, Name: "policies/operator.cedar"}
	}
	if !agents.Set() {
		agents = config.Text{Bytes: policies.Agents, Name: "policies/agents.json"}
	}
	inv, err := inventory.Parse(agents.Bytes, inventory.Options{Mode: inventory.Mode(cfg.AgentInventoryMode)})
	if err != nil {
		return nil, textError(agents, err, false)
	}
	ts, err := tools.New(tools.Options{
		Snippets:    snippets.NewStore(blob, cfg.SnippetMaxSize),
		Approvals:   approval.NewStore(blob, cfg.Approval),
		Log:         log,
		Profiles:    profiles,
		Auditor:     auditor,
		ToolTimeout: cfg.ToolTimeout,
		Policy: policy.Options{
			Operator:              op.Bytes,
			OperatorName:          op.Name,
			ToolPolicy:            cfg.ToolPolicy.Bytes,
			AllowOperatorPermits:  cfg.AllowOperatorPermits,
			AllowAppOnlyApprovers: cfg.Approval.AllowAppOnlyApprovers,
			Inventory:             inv,
			Log:                   log,
		},
		Version: version(),
	})
	if se := (*policy.SourceError)(nil); errors.As(err, &se) {
		switch se.Source {
		case policy.SourceToolPolicy:
			return nil, textError(cfg.ToolPolicy, err, false)
		case policy.SourceOperator:
			return nil, textError(op, err, true) // Cedar's errors name the policy and the position
		case policy.SourceInventory:
			return nil, textError(agents, err, false)
		}
	}
	return ts, err
}

// textError names the document an error is about: the setting that
// supplied it, and its file unless the error names it already (or the
// setting's value was the text).
func textError(t config.Text, err error, namesIt bool) error {
	msg := err.Error()
	if !namesIt && t.Name != t.Var {
		msg = t.Name + ": " + msg
	}
	if !t.Set() {
		return errors.New(msg) // an embedded file: a build mistake
	}
	return &config.Error{Var: t.Var, Msg: msg}
}

// mcpHandler is the /mcp endpoint: the MCP server behind request checks
// and authentication.
func mcpHandler(cfg *config.Config, log *slog.Logger, ts *tools.Server, authn identity.Authenticator, meta *prm.Metadata, auditor *audit.Auditor) http.Handler {
	mcpHTTP := server.NewStreamableHTTPServer(ts.MCP(),
		server.WithStateLess(true),
		server.WithDisableStreaming(true),
		server.WithHTTPContextFunc(tools.ContextFunc),
		// Host is checked below for every deployment shape, not only loopback.
		server.WithDisableLocalhostProtection(true),
		server.WithStreamableHTTPLogger(log),
	)

	// Innermost: client notifications (notifications/cancelled names calls by
	// ids anyone can guess) and responses never reach mcp-go.
	var mcpH http.Handler = httpx.RequestsOnly(cfg.MaxBodyBytes, tools.FixErrors(mcpHTTP))
	mcpH = httpx.CheckProtocol(mcp.ValidProtocolVersions, mcpH)
	mcpH = httpx.LimitBody(cfg.MaxBodyBytes, mcpH)
	mcpH = httpx.RequireJSON(mcpH)
	// Authentication reads headers only and runs before any body byte is
	// read, so a refused request costs no buffering; refusals are audited.
	mcpH = prm.Require(authn, meta, mcpH, prm.Options{OnRefused: newRefusals(auditor).record})
	mcpH = httpx.PostOnly(mcpH)
	return mcpH
}

// routes serves /mcp, the health and readiness probes and the protected
// resource metadata, behind the checks every request passes.
func routes(cfg *config.Config, log *slog.Logger, blob *azblob.Client, meta *prm.Metadata, mcpH http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcpH)
	mux.HandleFunc("/{$}", health)
	mux.HandleFunc("/healthz", health) // liveness: the process answers; the host restarts it otherwise
	// Readiness: whether storage is usable with this server's settings, in
	// words (a bad key is permanent, an outage not), cached and bounded so
	// probes cost storage little and never hang. No details beyond that.
	mux.Handle("/readyz", storage.NewReadiness(blob, 5*time.Second, 5*time.Second, snippets.Container, approval.Container))
	if cfg.AuthMode == config.AuthJWT {
		mux.Handle(prm.Path, meta)
		mux.Handle(prm.Path+"/mcp", meta)
	}
	var h http.Handler = mux
	h = httpx.CheckOrigin(cfg.AllowedOrigins, cfg.AuthMode == config.AuthDev, h)
	h = httpx.CheckHost(cfg.AllowedHosts, h)
	h = httpx.Recover(log, h)
	// Outermost: whatever refuses a request without reading its body closes
	// the connection instead of draining the body first.
	h = httpx.CloseUnread(h)
	return h
}

// authenticator picks the identity source for the configured mode.
func authenticator(ctx context.Context, cfg *config.Config, log *slog.Logger) (identity.Authenticator, *prm.Metadata, error) {
	meta := &prm.Metadata{ResourceURL: cfg.ResourceURL, Scopes: cfg.Scopes}
	switch cfg.AuthMode {
	case config.AuthDev:
		return identity.NewDev(), meta, nil
	case config.AuthEasyAuth:
		return identity.EasyAuth{}, meta, nil
	case config.AuthJWT:
		// A multi-tenant issuer names its tenant per token; clients are sent
		// to Entra's "organizations" authority, which signs in any of them.
		meta.AuthorizationServers = []string{strings.Replace(cfg.JWT.Issuer, identity.TenantPlaceholder, "organizations", 1)}
		// Discovery and keys are fetched in the background: start-up does not
		// wait for the issuer, and a request that arrives before the keys
		// waits for them briefly or gets 503, never an unchecked pass.
		// The retries and key refresh failures are logged with the server's
		// other lines.
		jcfg := cfg.JWT
		jcfg.Logger = log
		j, err := identity.StartJWT(ctx, jcfg)
		if err != nil {
			return nil, nil, fmt.Errorf("MCP_AUTH_ISSUER: %w", err)
		}
		return j, meta, nil
	}
	return nil, nil, fmt.Errorf("MCP_AUTH_MODE: %q is not a mode", cfg.AuthMode)
}

// delegator prepares on-behalf-of delegation to Microsoft Graph, or nil
// (tools: "not configured") when it is not set up. The loader has
// validated dcfg, including where a client secret is allowed.
func delegator(dcfg delegate.Config) (tools.ProfileSource, error) {
	if !dcfg.Enabled() {
		return nil, nil
	}
	return delegate.New(dcfg)
}

// ensureContainers creates the containers, retrying in the background so
// that the server starts (the host allows 60 s) even while storage is down.
func ensureContainers(ctx context.Context, log *slog.Logger, blob *azblob.Client, names ...string) {
	delay := time.Second
	for _, name := range names {
		for {
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := storage.EnsureContainer(cctx, blob, name)
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			if storage.IsMisconfigured(err) {
				// Still retried: a role assignment can take minutes to apply.
				log.Error("storage misconfigured: "+storage.Misconfigured+"; will retry", "container", name,
					"reason", storage.Reason(err), "permanent", true, "retry_in", delay.String())
			} else {
				log.Warn("storage not ready; will retry", "container", name, "err", err, "retry_in", delay.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, 30*time.Second)
		}
	}
}

func health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}
