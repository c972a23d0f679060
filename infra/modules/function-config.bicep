// Completes the function app once its host name and the Entra registration exist:
// the full app settings (the server's configuration contract) and built-in
// authentication (authsettingsV2). The appsettings resource replaces the whole
// set, so it repeats the base settings the app was created with.

param functionAppName string
param baseAppSettings object

@description('Client id of the server\'s Entra registration.')
param clientId string

@description('Identifier URIs accepted as token audiences (api:// and the public MCP URLs).')
param allowedAudiences array

@description('Client applications allowed to call (azp/appid): pre-authorized clients and agent identities.')
param allowedClientApplications array

@description('Fully qualified delegated scope, <identifier URI>/user_impersonation.')
param scope string

@description('Canonical public MCP URL of this app (https://<host>/mcp).')
param resourceUrl string

@description('Custom host name bound to the app (function-domain.bicep); the server must accept it as Host.')
param customDomain string = ''

@description('Client id of the app\'s user-assigned identity (federated credential for on-behalf-of).')
param identityClientId string

@description('Browser origins allowed to call; comma-separated; empty allows only requests without Origin.')
param allowedOrigins string = ''

param approvalTtl string = '15m'
param serverId string

var tenantId = tenant().tenantId

var authAppSettings = {
  MCP_AUTH_MODE: 'easyauth'
  MCP_RESOURCE_URL: resourceUrl
  MCP_SERVER_ID: serverId
  MCP_APPROVAL_TTL: approvalTtl
  MCP_ALLOWED_ORIGINS: allowedOrigins
  // WEBSITE_HOSTNAME (the default host) is always accepted; a custom domain
  // must be named, or the server's Host check refuses its requests.
  MCP_ALLOWED_HOSTS: customDomain
  // Published by the platform in Protected Resource Metadata; fully qualified,
  // because a bare scope resolves against Microsoft Graph (AADSTS650053).
  WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES: scope
  WEBSITE_AUTH_CLIENT_ID: clientId
  WEBSITE_AUTH_AAD_ALLOWED_TENANTS: tenantId
  // The managed identity is the Entra app's federated credential: built-in auth
  // and the server's on-behalf-of exchange both use it instead of a secret.
  OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: identityClientId
}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(baseAppSettings, authAppSettings)
}

resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  dependsOn: [
    appSettings
  ]
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
          clientSecretSettingName: 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID'
        }
        validation: {
          allowedAudiences: allowedAudiences
          defaultAuthorizationPolicy: {
            allowedApplications: allowedClientApplications
          }
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}
