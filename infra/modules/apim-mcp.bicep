// The MCP API on API Management, in front of the function app's /mcp, plus the
// anonymous Protected Resource Metadata (RFC 9728) documents at the gateway.
// Policy files live in ../policies as well-formed XML (format 'xml'); values
// come from the named values below, and the one list (client application ids)
// is substituted here.

param apimName string
param functionHostName string

@description('Gateway path of the MCP API; the MCP URL is <gateway>/<path>/mcp.')
param apiPath string = 'snippets'

@description('"http" (default): a plain HTTP API passing POST/GET/DELETE/OPTIONS /mcp through, the whole MCP surface. "mcp": API Management\'s MCP server type (2025-09-01-preview), tools and resources only.')
@allowed([
  'mcp'
  'http'
])
param apiType string = 'http'

param clientId string
param identifierUri string
param scope string

@description('Client applications whose tokens the gateway accepts (azp/appid).')
param allowedClientApplications array

@description('Browser origins allowed to call; others get 403. Requests without Origin pass.')
param allowedOrigins array = []

param loggerId string

@description('Custom gateway host name (verified in the tenant, bound in apim.bicep); empty uses the default *.azure-api.net URL.')
param customDomain string = ''

var tenantId = tenant().tenantId
// With a custom domain its URL is the PRM resource: it is the https
// identifier URI RFC 8707 clients need; the default host cannot be one.
var gatewayBase = empty(customDomain) ? apim.properties.gatewayUrl : 'https://${customDomain}'
var gatewayMcpUrl = '${gatewayBase}/${apiPath}/mcp'
var gatewayPrmUrl = '${gatewayBase}/.well-known/oauth-protected-resource/${apiPath}/mcp'
var backendName = 'snippets-mcp-function'

// Named values cannot be empty; "none" matches no Origin header.
var originList = empty(allowedOrigins) ? 'none' : join(allowedOrigins, ',')

var clientIdElements = join(map(allowedClientApplications, id => '<application-id>${id}</application-id>'), '')
// <cors> needs one <origin> element per origin; with none configured a
// reserved .invalid origin (never sent by a browser) keeps the policy valid.
var originElements = join(map(empty(allowedOrigins) ? [
  'https://origin-not-configured.invalid'
] : allowedOrigins, o => '<origin>${o}</origin>'), '')
var mcpPolicy = replace(replace(loadTextContent('../policies/mcp-api.xml'), '<application-id>__CLIENT_APPLICATION_IDS__</application-id>', clientIdElements), '<origin>__ALLOWED_ORIGINS__</origin>', originElements)

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
}

resource nvTenant 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'tenant-id'
  properties: {
    displayName: 'tenant-id'
    value: tenantId
  }
}

resource nvIssuer 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'entra-issuer'
  properties: {
    displayName: 'entra-issuer'
    value: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
  }
}

resource nvClientId 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-app-client-id'
  properties: {
    displayName: 'mcp-app-client-id'
    value: clientId
  }
}

resource nvIdentifierUri 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-app-id-uri'
  properties: {
    displayName: 'mcp-app-id-uri'
    value: identifierUri
  }
}

resource nvScope 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-scope'
  properties: {
    displayName: 'mcp-scope'
    value: scope
  }
}

resource nvResource 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-gateway-resource'
  properties: {
    displayName: 'mcp-gateway-resource'
    value: gatewayMcpUrl
  }
}

resource nvPrmUrl 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-gateway-prm-url'
  properties: {
    displayName: 'mcp-gateway-prm-url'
    value: gatewayPrmUrl
  }
}

resource nvOrigins 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-allowed-origins'
  properties: {
    displayName: 'mcp-allowed-origins'
    value: originList
  }
}

resource backend 'Microsoft.ApiManagement/service/backends@2024-06-01-preview' = {
  parent: apim
  name: backendName
  properties: {
    description: 'The snippets MCP function app (built-in auth validates the forwarded token again).'
    protocol: 'http'
    url: 'https://${functionHostName}'
    tls: {
      validateCertificateChain: true
      validateCertificateName: true
    }
  }
}

// Two shapes of the same API, chosen by apiType. "http" (default) passes
// POST/GET/DELETE /mcp through unchanged, so every MCP method reaches the
// server: tools, resources, prompts, completion/complete, logging/setLevel.
// "mcp" is API Management's MCP server type in its documented shape
// (2025-09-01-preview: type 'mcp', serviceUrl, mcpProperties with one
// streamable `message` endpoint); it fronts tools and resources only, so
// prompts and completions are not reachable through it (docs/DEPLOY.md).
var apiCommon = {
  displayName: 'Snippets MCP server'
  description: 'Stateless Streamable HTTP MCP server (Azure Functions custom handler).'
}

resource mcpApiHttp 'Microsoft.ApiManagement/service/apis@2024-05-01' = if (apiType == 'http') {
  parent: apim
  name: 'snippets-mcp'
  properties: {
    displayName: apiCommon.displayName
    description: apiCommon.description
    path: apiPath
    protocols: [
      'https'
    ]
    subscriptionRequired: false
    serviceUrl: 'https://${functionHostName}'
  }
}

resource mcpApiMcp 'Microsoft.ApiManagement/service/apis@2025-09-01-preview' = if (apiType == 'mcp') {
  parent: apim
  name: 'snippets-mcp'
  properties: {
    displayName: apiCommon.displayName
    description: apiCommon.description
    type: 'mcp'
    path: apiPath
    protocols: [
      'https'
    ]
    subscriptionRequired: false
    serviceUrl: 'https://${functionHostName}'
    mcpProperties: {
      transportType: 'streamable'
      endpoints: [
        {
          name: 'message'
          uriTemplate: '/mcp'
        }
      ]
    }
  }
}

// Children hang off whichever shape was deployed.
resource mcpApi 'Microsoft.ApiManagement/service/apis@2024-05-01' existing = {
  parent: apim
  name: 'snippets-mcp'
}

resource mcpPost 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = if (apiType == 'http') {
  parent: mcpApi
  dependsOn: [
    mcpApiHttp
  ]
  name: 'mcp-post'
  properties: {
    displayName: 'MCP request'
    method: 'POST'
    urlTemplate: '/mcp'
  }
}

// GET and DELETE reach the server, which answers 405 (stateless: no stream to
// open, no session to end); routing them keeps that answer instead of a 404.
resource mcpGet 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = if (apiType == 'http') {
  parent: mcpApi
  dependsOn: [
    mcpApiHttp
  ]
  name: 'mcp-get'
  properties: {
    displayName: 'MCP stream (not supported)'
    method: 'GET'
    urlTemplate: '/mcp'
  }
}

resource mcpDelete 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = if (apiType == 'http') {
  parent: mcpApi
  dependsOn: [
    mcpApiHttp
  ]
  name: 'mcp-delete'
  properties: {
    displayName: 'MCP session end (not supported)'
    method: 'DELETE'
    urlTemplate: '/mcp'
  }
}

// Preflights must match an operation to reach the API's <cors> policy.
resource mcpOptions 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = if (apiType == 'http') {
  parent: mcpApi
  dependsOn: [
    mcpApiHttp
  ]
  name: 'mcp-options'
  properties: {
    displayName: 'CORS preflight (answered by the cors policy)'
    method: 'OPTIONS'
    urlTemplate: '/mcp'
  }
}

resource mcpPolicyResource 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: mcpApi
  name: 'policy'
  properties: {
    format: 'xml'
    value: mcpPolicy
  }
  dependsOn: [
    mcpApiHttp
    mcpApiMcp
    nvTenant
    nvClientId
    nvIdentifierUri
    nvScope
    nvPrmUrl
    nvOrigins
    backend
  ]
}

resource mcpDiagnostics 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01' = {
  parent: mcpApi
  dependsOn: [
    mcpApiHttp
    mcpApiMcp
  ]
  name: 'applicationinsights'
  properties: {
    loggerId: loggerId
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

// Protected Resource Metadata, anonymous, at the root and path-inserted forms.
resource prmApi 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'snippets-mcp-prm'
  properties: {
    displayName: 'Snippets MCP protected resource metadata'
    path: ''
    protocols: [
      'https'
    ]
    subscriptionRequired: false
  }
}

resource prmRoot 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = {
  parent: prmApi
  name: 'prm-root'
  properties: {
    displayName: 'Protected resource metadata'
    method: 'GET'
    urlTemplate: '/.well-known/oauth-protected-resource'
  }
}

resource prmPathInserted 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = {
  parent: prmApi
  name: 'prm-mcp'
  properties: {
    displayName: 'Protected resource metadata (MCP endpoint)'
    method: 'GET'
    urlTemplate: '/.well-known/oauth-protected-resource/${apiPath}/mcp'
  }
}

resource prmPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: prmApi
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../policies/prm.xml')
  }
  dependsOn: [
    nvResource
    nvIssuer
    nvScope
  ]
}

resource prmDiagnostics 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01' = {
  parent: prmApi
  name: 'applicationinsights'
  properties: {
    loggerId: loggerId
    alwaysLog: 'allErrors'
    httpCorrelationProtocol: 'W3C'
    verbosity: 'information'
    logClientIp: false
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

output mcpUrl string = gatewayMcpUrl
output prmUrl string = gatewayPrmUrl
