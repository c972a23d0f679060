// SLOs as code: one scheduled query rule per SLO row, an action group whose
// receivers are parameters, an Azure Monitor workbook with each figure and its
// trend, and (optionally) the assignment of the body-logging guardrail policy.
//
// Each SLO's query is a file in infra/kql/slo/ that computes the figure per
// period (`let bin_size = 1h;`) with a `breach` column. A rule runs it over its
// window as one period (bin_size replaced by windowBin) and fires when
// `| where breach` (and its own filter) returns any row. The workbook runs the
// same files: as one period for the figure, per hour for the trend.
// infra/kql_slo_test.go composes the queries exactly as here and runs them
// over the events the e2e tests produce (docs/SLO.md).

param location string
param tags object
param token string

@description('Resource id of the Log Analytics workspace the rules query.')
param workspaceId string

@description('Whether the gateway writes ApiManagementGatewayLogs to the workspace; without it the body-logging rule is not created (its table would not exist).')
param gatewayLogsEnabled bool

@description('E-mail receivers of the SLO action group: [{ name, emailAddress }].')
param emailReceivers array = []

@description('Webhook receivers of the SLO action group: [{ name, serviceUri }].')
param webhookReceivers array = []

@description('Client ids of the agents this deployment trusts (pre-authorized clients, agent client ids, the public client): an agent whose inventory was not checked is known when listed here.')
param knownAgentIds array = []

@description('Resource id of the body-logging policy definition; empty: not assigned.')
param policyDefinitionId string = ''

@allowed([
  'Audit'
  'Deny'
  'Disabled'
])
@description('Effect of the body-logging policy assignment.')
param policyEffect string = 'Audit'

// The replacements the rules and the workbook make in the query files. Each
// target line occurs exactly once in its files (infra/kql_slo_test.go).
var binLine = 'let bin_size = 1h;'
var windowBinLine = 'let bin_size = 36500d;'
var knownAgentsLine = 'let known_agents = dynamic([]);'
var knownAgentsValue = 'let known_agents = dynamic(${string(knownAgentIds)});'

var sloAlerts = [
  {
    name: 'auth-success'
    title: 'Authentication success rate (target >= 99.9 %)'
    severity: 2
    gateway: false
    query: loadTextContent('../kql/slo/auth_success.kql')
    filter: '| where breach'
  }
  {
    name: 'read-latency'
    title: 'Read-only tool call p95 latency (target < 1500 ms)'
    severity: 3
    gateway: false
    query: loadTextContent('../kql/slo/tool_latency.kql')
    filter: '| where breach and tool_class == "read"'
  }
  {
    name: 'write-latency'
    title: 'Write tool call p95 latency (target < 4000 ms)'
    severity: 3
    gateway: false
    query: loadTextContent('../kql/slo/tool_latency.kql')
    filter: '| where breach and tool_class == "write"'
  }
  {
    name: 'unknown-agents'
    title: 'Unknown or unowned production agents (target 0)'
    severity: 1
    gateway: false
    query: loadTextContent('../kql/slo/unknown_agents.kql')
    filter: '| where breach'
  }
  {
    name: 'approval-bypass'
    title: 'Approval bypasses for destructive tools (target 0)'
    severity: 0
    gateway: false
    query: loadTextContent('../kql/slo/approval_bypass.kql')
    filter: '| where breach'
  }
  {
    name: 'body-logging'
    title: 'API Management response-body logging on MCP endpoints (target 0)'
    severity: 1
    gateway: true
    query: loadTextContent('../kql/slo/body_logging.kql')
    filter: '| where breach'
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-slo-${token}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'mcp-slo'
    enabled: true
    emailReceivers: [
      for r in emailReceivers: {
        name: r.name
        emailAddress: r.emailAddress
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: [
      for r in webhookReceivers: {
        name: r.name
        serviceUri: r.serviceUri
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alerts 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for a in sloAlerts: if (!a.gateway || gatewayLogsEnabled) {
    name: 'slo-${a.name}-${token}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: 'SLO: ${a.title}'
      description: 'Fires when the SLO is breached over the last hour. Query: infra/kql/slo (docs/SLO.md).'
      severity: a.severity
      enabled: true
      scopes: [
        workspaceId
      ]
      evaluationFrequency: 'PT15M'
      windowSize: 'PT1H'
      criteria: {
        allOf: [
          {
            query: '${replace(replace(a.query, binLine, windowBinLine), knownAgentsLine, knownAgentsValue)}\n${a.filter}'
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      // A new workspace has no AppEvents or gateway tables until the first
      // events arrive; validating the query at creation would fail the first
      // azd up.
      skipQueryValidation: true
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

// The workbook: per SLO, the figure over the selected range and its hourly trend.
var figureItems = [
  for a in sloAlerts: {
    type: 3
    name: 'figure-${a.name}'
    content: {
      version: 'KqlItem/1.0'
      title: a.title
      query: replace(replace(a.query, binLine, windowBinLine), knownAgentsLine, knownAgentsValue)
      queryType: 0
      resourceType: 'microsoft.operationalinsights/workspaces'
      visualization: 'table'
      size: 4
      timeContextFromParameter: 'TimeRange'
    }
  }
]
var trendItems = [
  for a in sloAlerts: {
    type: 3
    name: 'trend-${a.name}'
    content: {
      version: 'KqlItem/1.0'
      title: '${a.title}: per hour'
      query: replace(a.query, knownAgentsLine, knownAgentsValue)
      queryType: 0
      resourceType: 'microsoft.operationalinsights/workspaces'
      visualization: 'timechart'
      size: 0
      timeContextFromParameter: 'TimeRange'
    }
  }
]
var workbookContent = {
  version: 'Notebook/1.0'
  items: concat(
    [
      {
        type: 1
        name: 'about'
        content: {
          json: '## Snippets MCP SLOs\nEach figure comes from a query in infra/kql/slo/, the same the alert rules run (docs/SLO.md). breach = true means the target is missed.'
        }
      }
      {
        type: 9
        name: 'parameters'
        content: {
          version: 'KqlParameterItem/1.0'
          parameters: [
            {
              name: 'TimeRange'
              type: 4
              value: {
                durationMs: 604800000
              }
              typeSettings: {
                selectableValues: [
                  {
                    durationMs: 3600000
                  }
                  {
                    durationMs: 86400000
                  }
                  {
                    durationMs: 604800000
                  }
                  {
                    durationMs: 2592000000
                  }
                ]
              }
            }
          ]
        }
      }
    ],
    figureItems,
    trendItems
  )
  fallbackResourceIds: [
    workspaceId
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'snippets-mcp-slo')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Snippets MCP SLOs'
    category: 'workbook'
    sourceId: workspaceId
    serializedData: string(workbookContent)
  }
}

resource policyAssignment 'Microsoft.Authorization/policyAssignments@2026-07-01' = if (!empty(policyDefinitionId)) {
  name: 'mcp-no-body-logging-${token}'
  properties: {
    displayName: 'API Management diagnostics must not log MCP response bodies'
    description: 'Assigned by azd for this environment\'s resource group; see the definition for the reason.'
    policyDefinitionId: policyDefinitionId
    parameters: {
      effect: {
        value: policyEffect
      }
    }
    nonComplianceMessages: [
      {
        message: 'MCP responses carry snippet content and tool results; log 0 response body bytes (frontend and backend) on the MCP API and on the service-wide diagnostics.'
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
output workbookId string = workbook.id
