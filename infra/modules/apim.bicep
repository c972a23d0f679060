// API Management (Basic v2 by default): the MCP gateway. This module creates the
// service, its Application Insights logger (Entra auth through the gateway's own
// identity) and the service-wide diagnostic that never logs bodies: MCP responses
// are streamed, and logging a response body would force buffering and could
// record snippet content. APIs and policies come later (apim-mcp.bicep), once the
// Entra registration exists.

param location string
param tags object
param apimName string

@allowed([
  'BasicV2'
  'StandardV2'
])
param sku string = 'BasicV2'

param publisherEmail string
param publisherName string

param identityId string
param identityClientId string

@description('Custom gateway host name verified in the Entra tenant (e.g. mcp-gw.contoso.com, CNAME to the gateway); empty for none.')
param customDomain string = ''

@description('Key Vault secret id (versionless) of the certificate for customDomain; the gateway identity needs Key Vault Secrets User on it.')
param customDomainCertificateSecretId string = ''

@secure()
@description('Application Insights connection string, stored only as a secret named value.')
param appInsightsConnectionString string
param applicationInsightsId string

@description('Log Analytics workspace that receives the gateway\'s resource logs (ApiManagementGatewayLogs, ApiManagementGatewayMCPLog), read by infra/kql.')
param workspaceId string

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: apimName
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: 1
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  // The v2 tiers have no managed certificates: a custom domain's certificate
  // comes from Key Vault, read with the gateway's user-assigned identity.
  // Without a custom domain the property is left out, as before.
  properties: union({
    publisherEmail: publisherEmail
    publisherName: publisherName
  }, empty(customDomain) ? {} : {
    hostnameConfigurations: [
      {
        type: 'Proxy'
        hostName: customDomain
        certificateSource: 'KeyVault'
        keyVaultId: customDomainCertificateSecretId
        identityClientId: identityClientId
        defaultSslBinding: true
        negotiateClientCertificate: false
      }
    ]
  })
}

resource aiConnection 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'appinsights-connection-string'
  properties: {
    displayName: 'appinsights-connection-string'
    secret: true
    value: appInsightsConnectionString
  }
}

resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: apim
  name: 'appinsights'
  properties: {
    loggerType: 'applicationInsights'
    resourceId: applicationInsightsId
    credentials: {
      connectionString: '{{appinsights-connection-string}}'
      identityClientId: identityClientId
    }
    isBuffered: true
  }
  dependsOn: [
    aiConnection
  ]
}

resource diagnostics 'Microsoft.ApiManagement/service/diagnostics@2024-05-01' = {
  parent: apim
  name: 'applicationinsights'
  properties: {
    loggerId: logger.id
    alwaysLog: 'allErrors'
    httpCorrelationProtocol: 'W3C'
    verbosity: 'information'
    logClientIp: false
    sampling: {
      samplingType: 'fixed'
      percentage: 100
    }
    frontend: {
      request: {
        headers: []
        body: {
          bytes: 0
        }
      }
      response: {
        headers: []
        body: {
          bytes: 0
        }
      }
    }
    backend: {
      request: {
        headers: []
        body: {
          bytes: 0
        }
      }
      response: {
        headers: []
        body: {
          bytes: 0
        }
      }
    }
  }
}

output name string = apim.name
output gatewayUrl string = apim.properties.gatewayUrl
output loggerId string = logger.id

// Resource logs to the workspace, in resource-specific tables (Dedicated):
// ApiManagementGatewayLogs for the correlation and SLO queries (infra/kql),
// ApiManagementGatewayMCPLog for MCP-typed APIs. What they hold of requests
// and responses is set by the API Management diagnostics: no service or API
// diagnostic here logs a body, and the SLO policy audits one that would.
resource gatewayLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: apim
  name: 'gateway-logs-to-workspace'
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}
