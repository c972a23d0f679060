// The Entra ID registration for the MCP server (Microsoft Graph Bicep extension).
// Identifier URIs: the api:// URI always; https URIs only on custom domains
// verified in the tenant. Entra checks the RFC 8707 `resource` parameter that
// spec-following clients send (taken from Protected Resource Metadata) against
// the identifier URIs (AADSTS9010010 when none matches), but for single-tenant
// apps it refuses an https identifier URI outside a verified domain
// (HostNameNotOnVerifiedDomain): *.azurewebsites.net and *.azure-api.net
// would fail this module and everything after it (identifieruri_test.go).
//
// With existingAppClientId set nothing is created here: many tenants forbid
// creating applications from pipelines. The outputs then echo the given values,
// and docs/DEPLOY.md lists what the existing registration must hold.

extension microsoftGraphV1

@description('Client-provided unique key of the server registration (idempotent redeploys).')
param uniqueName string
param displayName string

@description('api:// identifier URI; the scope is <identifierUri>/user_impersonation.')
param identifierUri string

@description('Exact MCP URLs on custom domains verified in the tenant (no trailing slash); empty for api:// only.')
param customResourceUris array = []

@description('Client applications pre-authorized for user_impersonation (no consent prompt).')
param preAuthorizedClientIds array

@description('Also register a public client for MCP clients that Entra cannot register dynamically.')
param publicClientEnabled bool = true

@description('Redirect URIs ("mobile and desktop" platform) of the public client.')
param publicClientRedirectUris array

@description('Principal (object) id of the managed identity trusted as the app\'s federated credential.')
param appIdentityPrincipalId string

@description('Use this existing registration instead of creating one.')
param existingAppClientId string = ''

@description('Identifier URI of the existing registration; empty means api://<existingAppClientId>, the form Entra proposes.')
param existingAppIdentifierUri string = ''

var create = empty(existingAppClientId)
var scopeValue = 'user_impersonation'
var scopeId = guid(uniqueName, scopeValue)
var graphAppId = '00000003-0000-0000-c000-000000000000'
var graphUserRead = 'e1fe6dd8-ba31-4d61-89e7-88639da4683d'

var roles = [
  {
    value: 'Snippets.Read'
    displayName: 'Read snippets'
    description: 'Read shared snippets through the MCP server.'
  }
  {
    value: 'Snippets.Write'
    displayName: 'Write shared snippets'
    description: 'Create and update snippets in the tenant-wide shared space.'
  }
  {
    value: 'Snippets.Delete'
    displayName: 'Delete snippets'
    description: 'Request deletion of snippets (each deletion still needs an approval).'
  }
  {
    value: 'Snippets.Approve'
    displayName: 'Approve destructive requests'
    description: 'Approve or deny other identities\' destructive tool requests.'
  }
]

resource clientApp 'Microsoft.Graph/applications@v1.0' = if (create && publicClientEnabled) {
  uniqueName: '${uniqueName}-clients'
  displayName: '${displayName} (MCP clients)'
  signInAudience: 'AzureADMyOrg'
  // Public client: desktop and CLI tools cannot keep a secret, so they use
  // authorization code + PKCE on the "mobile and desktop" platform. A "web"
  // platform redirect would demand a secret (AADSTS7000218).
  isFallbackPublicClient: true
  publicClient: {
    redirectUris: publicClientRedirectUris
  }
}

resource clientPrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = if (create && publicClientEnabled) {
  appId: clientApp.appId
}

var preAuthorized = union(preAuthorizedClientIds, (create && publicClientEnabled) ? [clientApp.appId] : [])

resource serverApp 'Microsoft.Graph/applications@v1.0' = if (create) {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: union([identifierUri], customResourceUris)
  api: {
    requestedAccessTokenVersion: 2
    oauth2PermissionScopes: [
      {
        id: scopeId
        value: scopeValue
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Use the snippets MCP server'
        adminConsentDescription: 'Allows the client to call the snippets MCP server on behalf of the signed-in user.'
        userConsentDisplayName: 'Use the snippets MCP server'
        userConsentDescription: 'Allows the client to call the snippets MCP server on your behalf.'
      }
    ]
    preAuthorizedApplications: [for appId in preAuthorized: {
      appId: appId
      delegatedPermissionIds: [
        scopeId
      ]
    }]
  }
  appRoles: [for role in roles: {
    id: guid(uniqueName, role.value)
    value: role.value
    displayName: role.displayName
    description: role.description
    allowedMemberTypes: [
      'User'
      'Application'
    ]
    isEnabled: true
  }]
  // Delegated Graph User.Read: the on-behalf-of tool reads the caller's profile.
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: [
        {
          id: graphUserRead
          type: 'Scope'
        }
      ]
    }
  ]
}

resource serverPrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = if (create) {
  appId: serverApp.appId
  // Any member of the tenant may obtain a token: the server's default policy lets
  // every authenticated caller use the read tools, and app roles gate the rest.
  // Set to true to admit only users and agents assigned to the app.
  appRoleAssignmentRequired: false
}

// The function app's managed identity is the app's credential for the
// on-behalf-of exchange: no client secret or certificate exists anywhere.
resource managedIdentityCredential 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = if (create) {
  name: '${serverApp.uniqueName}/function-managed-identity'
  description: 'The MCP function app\'s user-assigned managed identity (on-behalf-of client assertion).'
  audiences: [
    'api://AzureADTokenExchange'
  ]
  issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  subject: appIdentityPrincipalId
}

var clientId = create ? serverApp.appId : existingAppClientId
// Without a given URI an existing registration is taken to use api://<client
// id>: an empty one would publish the scope `/user_impersonation` and an
// empty audience, which no token matches.
var finalIdentifierUri = create ? identifierUri : (empty(existingAppIdentifierUri) ? 'api://${existingAppClientId}' : existingAppIdentifierUri)

output clientId string = clientId
output identifierUri string = finalIdentifierUri
output scope string = '${finalIdentifierUri}/${scopeValue}'
// The audiences built-in auth accepts, and the list an existing registration must hold.
output identifierUris array = union([finalIdentifierUri], customResourceUris)
output publicClientId string = (create && publicClientEnabled) ? clientApp.appId : ''
output preAuthorizedClientIds array = preAuthorized
