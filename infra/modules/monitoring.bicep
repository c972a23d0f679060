// Log Analytics and workspace-based Application Insights. Local (key-based)
// authentication is off on both: telemetry is ingested with Entra tokens only
// (the app sends APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD;ClientId=...).

param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output workspaceId string = workspace.id
output applicationInsightsName string = appInsights.name
output applicationInsightsId string = appInsights.id
// The connection string only locates the ingestion endpoint; with local auth
// disabled it grants nothing without an Entra token.
output connectionString string = appInsights.properties.ConnectionString
