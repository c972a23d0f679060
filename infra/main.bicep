// Snippets MCP server on Azure: `azd up` entry point.
//
// Order matters where a value exists only after creation: the function app and
// API Management are created first, then the Entra registration (its identifier
// URIs are the real public MCP URLs), then the app's full settings, built-in
// authentication and the gateway's MCP API, which all need the registration.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region for every resource (Flex Consumption must be available there).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group name; empty gives rg-<environmentName>.')
param resourceGroupName string = ''

@description('Flex Consumption memory per instance, MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption upper bound on scale-out.')
// Flex Consumption refuses fewer than 40 (its minimum ceiling) and more than 1000.
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Put storage behind a private endpoint and integrate the function app with a VNet.')
param vnetEnabled bool = false

@description('Deploy API Management as the MCP gateway.')
param apimEnabled bool = true

@allowed([
  'BasicV2'
  'StandardV2'
])
param apimSku string = 'BasicV2'

@description('API Management publisher contact (required by the service).')
param apimPublisherEmail string = 'mcp-admin@example.com'
param apimPublisherName string = 'Snippets MCP'

@description('"http" (default): plain HTTP API passing /mcp through, every MCP method reachable. "mcp": API Management\'s MCP server type (2025-09-01-preview), which fronts tools and resources but not prompts or completions.')
@allowed([
  'mcp'
  'http'
])
param apimApiType string = 'http'

@description('Client applications pre-authorized for user_impersonation. Defaults: Visual Studio Code, Azure CLI (testing with az account get-access-token).')
param preAuthorizedClientIds array = [
  'aebc6443-996d-45c2-90f0-388ff96faa56'
  '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
]

@description('Client ids of app-only callers (for example a Foundry project\'s managed identity) allowed through built-in auth and the gateway.')
param agentClientIds array = []

@description('Register a public client (PKCE, "mobile and desktop" redirects) for MCP Inspector, Claude Code, claude.ai and Cursor.')
param publicClientEnabled bool = true

@description('Redirect URIs of the public client: MCP Inspector (UI and proxy), Claude Code (any port: Entra ignores the port of http://localhost), claude.ai, Cursor.')
param publicClientRedirectUris array = [
  'http://127.0.0.1:6274/oauth/callback'
  'http://127.0.0.1:6276/oauth/callback'
  'http://localhost:6274/oauth/callback'
  'http://localhost/callback'
  'https://claude.ai/api/mcp/auth_callback'
  'http://localhost:8787/callback'
]

@description('Use this existing Entra app registration (client id) instead of creating one.')
param existingAppClientId string = ''

@description('Identifier URI (api://...) of the existing registration; empty means api://<existingAppClientId>.')
param existingAppIdentifierUri string = ''

@description('Custom domain for the function app, verified in the Entra tenant (CNAME to the app, asuid TXT record). Adds https://<domain>/mcp as identifier URI and PRM resource, for RFC 8707 clients. Empty: api:// only.')
param functionCustomDomain string = ''

@description('Thumbprint of an uploaded certificate for functionCustomDomain; empty creates an App Service managed certificate.')
param functionCustomDomainCertificateThumbprint string = ''

@description('Custom domain for the API Management gateway, verified in the Entra tenant. Adds https://<domain>/<path>/mcp as identifier URI and gateway PRM resource. Needs apimCustomDomainCertificateSecretId.')
param apimCustomDomain string = ''

@description('Key Vault secret id (versionless) of the apimCustomDomain certificate; grant the gateway identity Key Vault Secrets User on it first.')
param apimCustomDomainCertificateSecretId string = ''

@description('Appended to the Entra apps\' uniqueName. A deleted app keeps its uniqueName in deleted items for 30 days; after a teardown without purging it, set a new value (azd env set ENTRA_APP_NAME_SALT 2) to deploy the same environment again. Keep it stable otherwise: a new value creates new registrations.')
@maxLength(16)
param entraAppNameSalt string = ''

@description('Browser origins allowed to call the server and the gateway.')
param allowedOrigins array = []

@description('How long an approval request for a destructive tool stays valid.')
param approvalTtl string = '15m'

@description('E-mail address that receives the SLO alerts (docs/SLO.md); empty: none.')
param sloAlertEmail string = ''

@description('More receivers of the SLO action group: e-mail [{ name, emailAddress }] and webhook [{ name, serviceUri }].')
param sloEmailReceivers array = []
param sloWebhookReceivers array = []

@description('Create the Azure Policy definition that audits or denies response-body logging on the MCP API. Off by default so that a deployer with the documented rights (Contributor + RBAC Administrator) is not stopped; turn it on where you hold the right (needs Microsoft.Authorization/policyDefinitions/write on the subscription: Owner or Resource Policy Contributor).')
param sloPolicyDefinitionEnabled bool = false

@description('Assign that policy to the resource group (needs Microsoft.Authorization/policyAssignments/write).')
param sloPolicyAssignmentEnabled bool = false

@allowed([
  'Audit'
  'Deny'
  'Disabled'
])
@description('Effect of the policy assignment.')
param sloPolicyEffect string = 'Audit'

var tags = {
  'azd-env-name': environmentName
}
var token = toLower(uniqueString(subscription().id, environmentName, location))
var functionAppName = 'func-mcp-${token}'
var mcpApiPath = 'snippets'
var appUniqueName = empty(entraAppNameSalt) ? 'snippets-mcp-${token}' : 'snippets-mcp-${token}-${entraAppNameSalt}'
var defaultIdentifierUri = 'api://${tenant().tenantId}/${appUniqueName}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    location: location
    tags: tags
    appIdentityName: 'id-mcp-${token}'
    apimIdentityName: 'id-apim-${token}'
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${token}'
    applicationInsightsName: 'appi-${token}'
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    vnetName: 'vnet-${token}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: 'st${token}'
    deploymentContainerName: 'app-package-${token}'
    privateEndpointSubnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    blobDnsZoneId: vnetEnabled ? network.outputs.blobDnsZoneId : ''
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.appIdentityPrincipalId
    apimPrincipalId: apimEnabled ? identity.outputs.apimIdentityPrincipalId : ''
  }
}

// Settings the host and server need from the first start. The Functions host
// and the server reach storage with the user-assigned identity (no keys).
var baseAppSettings = {
  AzureWebJobsFeatureFlags: 'EnableMcpCustomHandlerPreview'
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.appIdentityClientId
  SNIPPETS_STORAGE__blobServiceUri: storage.outputs.blobEndpoint
  SNIPPETS_STORAGE__credential: 'managedidentity'
  SNIPPETS_STORAGE__clientId: identity.outputs.appIdentityClientId
  AZURE_CLIENT_ID: identity.outputs.appIdentityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.appIdentityClientId}'
}

module functionApp 'modules/function.bicep' = {
  name: 'function'
  scope: rg
  dependsOn: [
    rbac
  ]
  params: {
    location: location
    tags: tags
    planName: 'plan-${token}'
    functionAppName: functionAppName
    identityId: identity.outputs.appIdentityId
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    baseAppSettings: baseAppSettings
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    allowedOrigins: allowedOrigins
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
}

module apim 'modules/apim.bicep' = if (apimEnabled) {
  name: 'apim'
  scope: rg
  dependsOn: [
    rbac
  ]
  params: {
    location: location
    tags: tags
    apimName: 'apim-${token}'
    sku: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    identityId: identity.outputs.apimIdentityId
    identityClientId: identity.outputs.apimIdentityClientId
    customDomain: apimCustomDomain
    customDomainCertificateSecretId: apimCustomDomainCertificateSecretId
    appInsightsConnectionString: monitoring.outputs.connectionString
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    workspaceId: monitoring.outputs.workspaceId
  }
}

module functionDomain 'modules/function-domain.bicep' = if (!empty(functionCustomDomain)) {
  name: 'function-domain'
  scope: rg
  params: {
    location: location
    tags: tags
    functionAppName: functionApp.outputs.name
    planId: functionApp.outputs.planId
    hostName: functionCustomDomain
    certificateThumbprint: functionCustomDomainCertificateThumbprint
  }
}

var directMcpUrl = 'https://${functionApp.outputs.defaultHostName}/mcp'
// https identifier URIs only on custom domains verified in the tenant: Entra
// refuses *.azurewebsites.net and *.azure-api.net (HostNameNotOnVerifiedDomain).
// Each is also the PRM `resource` at its URL, exactly, without trailing slash.
var functionCustomMcpUrl = empty(functionCustomDomain) ? '' : 'https://${functionCustomDomain}/mcp'
var gatewayCustomMcpUrl = (apimEnabled && !empty(apimCustomDomain)) ? 'https://${apimCustomDomain}/${mcpApiPath}/mcp' : ''
var publicMcpUrl = empty(functionCustomMcpUrl) ? directMcpUrl : functionCustomMcpUrl
var customResourceUris = union(empty(functionCustomMcpUrl) ? [] : [
  functionCustomMcpUrl
], empty(gatewayCustomMcpUrl) ? [] : [
  gatewayCustomMcpUrl
])

module entra 'modules/entra.bicep' = {
  name: 'entra'
  scope: rg
  params: {
    uniqueName: appUniqueName
    displayName: 'Snippets MCP server (${environmentName})'
    identifierUri: defaultIdentifierUri
    customResourceUris: customResourceUris
    preAuthorizedClientIds: preAuthorizedClientIds
    publicClientEnabled: publicClientEnabled
    publicClientRedirectUris: publicClientRedirectUris
    appIdentityPrincipalId: identity.outputs.appIdentityPrincipalId
    existingAppClientId: existingAppClientId
    existingAppIdentifierUri: existingAppIdentifierUri
  }
}

var allowedClientApplications = union(entra.outputs.preAuthorizedClientIds, agentClientIds)

module functionConfig 'modules/function-config.bicep' = {
  name: 'function-config'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    baseAppSettings: baseAppSettings
    clientId: entra.outputs.clientId
    allowedAudiences: entra.outputs.identifierUris
    allowedClientApplications: allowedClientApplications
    scope: entra.outputs.scope
    resourceUrl: publicMcpUrl
    customDomain: functionCustomDomain
    identityClientId: identity.outputs.appIdentityClientId
    allowedOrigins: join(allowedOrigins, ',')
    approvalTtl: approvalTtl
    serverId: functionAppName
  }
}

module apimMcp 'modules/apim-mcp.bicep' = if (apimEnabled) {
  name: 'apim-mcp'
  scope: rg
  params: {
    apimName: apim.outputs.name
    functionHostName: functionApp.outputs.defaultHostName
    apiPath: mcpApiPath
    apiType: apimApiType
    clientId: entra.outputs.clientId
    identifierUri: entra.outputs.identifierUri
    scope: entra.outputs.scope
    allowedClientApplications: allowedClientApplications
    allowedOrigins: allowedOrigins
    loggerId: apim.outputs.loggerId
    customDomain: apimCustomDomain
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_MCP_NAME string = functionApp.outputs.name
output SERVICE_MCP_HOSTNAME string = functionApp.outputs.defaultHostName

module sloPolicy 'modules/slo-policy.bicep' = if (sloPolicyDefinitionEnabled) {
  name: 'slo-policy'
}

module slo 'modules/slo.bicep' = {
  name: 'slo'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    workspaceId: monitoring.outputs.workspaceId
    gatewayLogsEnabled: apimEnabled
    emailReceivers: concat(empty(sloAlertEmail) ? [] : [
      {
        name: 'slo-email'
        emailAddress: sloAlertEmail
      }
    ], sloEmailReceivers)
    webhookReceivers: sloWebhookReceivers
    knownAgentIds: union(preAuthorizedClientIds, agentClientIds, empty(entra.outputs.publicClientId) ? [] : [entra.outputs.publicClientId])
    policyDefinitionId: sloPolicyDefinitionEnabled && sloPolicyAssignmentEnabled ? sloPolicy.outputs.id : ''
    policyEffect: sloPolicyEffect
  }
}

@description('The function app\'s MCP endpoint (built-in auth); its custom domain URL when one is set.')
output MCP_DIRECT_URL string = publicMcpUrl
@description('The gateway\'s MCP endpoint; empty without API Management.')
output MCP_GATEWAY_URL string = apimEnabled ? apimMcp.outputs.mcpUrl : ''
output MCP_GATEWAY_PRM_URL string = apimEnabled ? apimMcp.outputs.prmUrl : ''
output MCP_APP_CLIENT_ID string = entra.outputs.clientId
output MCP_APP_ID_URI string = entra.outputs.identifierUri
@description('Fully qualified scope clients request.')
output MCP_SCOPE string = entra.outputs.scope
@description('Public client id for MCP Inspector, Claude Code, claude.ai and Cursor (--client-id); empty when not registered.')
output MCP_PUBLIC_CLIENT_ID string = entra.outputs.publicClientId
@description('Identifier URIs the Entra registration must hold (check these on an existing registration).')
output MCP_REQUIRED_IDENTIFIER_URIS array = entra.outputs.identifierUris
@description('Federated credential an existing registration must trust: issuer and subject (the app identity\'s object id).')
output MCP_FIC_ISSUER string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
output MCP_FIC_SUBJECT string = identity.outputs.appIdentityPrincipalId
@description('Ready to paste into .vscode/mcp.json.')
output MCP_VSCODE_CONFIG string = string({
  servers: apimEnabled ? {
    'snippets-gateway': {
      type: 'http'
      url: apimMcp.outputs.mcpUrl
    }
    'snippets-direct': {
      type: 'http'
      url: publicMcpUrl
    }
  } : {
    'snippets-direct': {
      type: 'http'
      url: publicMcpUrl
    }
  }
})
