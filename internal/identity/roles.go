package identity

// App roles and the delegated scope defined on the server's Entra app
// (infra/modules/entra.bicep); tokens carry them in roles and scp.
const (
	RoleRead    = "Snippets.Read"
	RoleWrite   = "Snippets.Write"
	RoleDelete  = "Snippets.Delete"
	RoleApprove = "Snippets.Approve"
	ScopeUser   = "user_impersonation"
)
