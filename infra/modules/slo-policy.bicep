// The guardrail behind the body-logging SLO: an Azure Policy definition that
// audits (or denies) API Management diagnostics logging response bodies on the
// MCP API, at the service-wide scope (which covers every API) and on the MCP
// API's own diagnostics. Created at the subscription (policy definitions live
// there); slo.bicep assigns it to the environment's resource group when asked.
// Creating a definition needs Microsoft.Authorization/policyDefinitions/write,
// and assigning it .../policyAssignments/write (Owner or Resource Policy
// Contributor; Contributor has neither): both are parameters of main.bicep.

targetScope = 'subscription'

@description('Name of the policy definition; one per subscription, shared by every environment in it.')
param name string = 'snippets-mcp-no-response-body-logging'

@description('API names whose diagnostics the policy checks (the MCP API and its protected resource metadata API).')
param mcpApiNames array = [
  'snippets-mcp'
  'snippets-mcp-prm'
]

var service = 'Microsoft.ApiManagement/service/diagnostics'
var api = 'Microsoft.ApiManagement/service/apis/diagnostics'

resource noBodyLogging 'Microsoft.Authorization/policyDefinitions@2026-07-01' = {
  name: name
  properties: {
    policyType: 'Custom'
    mode: 'All'
    displayName: 'API Management must not log response bodies of MCP endpoints'
    description: 'Why: MCP responses are tool results: snippet content, profile data and approval details that the server\'s audit deliberately records only as sizes and digests. A diagnostic with response body bytes above 0 copies them into Application Insights or Log Analytics, readable by anyone with log access, and makes the gateway buffer responses that must stream. The service-wide diagnostics apply to every API, so they count as the MCP API\'s. Audit reports such a diagnostic; Deny refuses to create or update it.'
    metadata: {
      category: 'API Management'
      version: '1.0.0'
    }
    parameters: {
      effect: {
        type: 'String'
        allowedValues: [
          'Audit'
          'Deny'
          'Disabled'
        ]
        defaultValue: 'Audit'
        metadata: {
          displayName: 'Effect'
          description: 'Audit, Deny or Disabled.'
        }
      }
      mcpApiNames: {
        type: 'Array'
        defaultValue: mcpApiNames
        metadata: {
          displayName: 'MCP API names'
          description: 'Names of the APIs whose own diagnostics must not log response bodies.'
        }
      }
    }
    policyRule: {
      if: {
        anyOf: [
          {
            allOf: [
              {
                field: 'type'
                equals: service
              }
              {
                anyOf: [
                  {
                    field: '${service}/frontend.response.body.bytes'
                    greater: 0
                  }
                  {
                    field: '${service}/backend.response.body.bytes'
                    greater: 0
                  }
                ]
              }
            ]
          }
          {
            allOf: [
              {
                field: 'type'
                equals: api
              }
              {
                value: '[split(field(\'id\'), \'/\')[10]]'
                in: '[parameters(\'mcpApiNames\')]'
              }
              {
                anyOf: [
                  {
                    field: '${api}/frontend.response.body.bytes'
                    greater: 0
                  }
                  {
                    field: '${api}/backend.response.body.bytes'
                    greater: 0
                  }
                ]
              }
            ]
          }
        ]
      }
      then: {
        effect: '[parameters(\'effect\')]'
      }
    }
  }
}

output id string = noBodyLogging.id
