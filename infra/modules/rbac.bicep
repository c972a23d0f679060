// Least-privilege role assignments. The app's identity reads and writes blobs
// (host storage, deployment package, snippets, approvals): Storage Blob Data
// Contributor. AzureWebJobsStorage role: the Functions docs list Storage Blob
// Data Owner for identity-based AzureWebJobsStorage, as one role that covers
// every trigger and binding. This app has HTTP only, and the host's own blob
// use (host secrets, its lease-based lock, the Flex package) is read, write
// and lease, all in Contributor. What Owner adds (blobs/* data actions) is
// ACL and ownership changes, tags, and deleteBlobVersion/permanentDelete:
// the last would let the identity serving requests erase the versions that
// keep overwritten snippets. Not verified against a running host here.
// Both identities publish telemetry with Entra auth: Monitoring Metrics Publisher
// on the Application Insights component only.

param storageAccountName string
param applicationInsightsName string
param appPrincipalId string

@description('Principal id of API Management\'s identity; empty when API Management is not deployed.')
param apimPrincipalId string = ''

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, storageBlobDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apimTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(apimPrincipalId)) {
  name: guid(appInsights.id, apimPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: apimPrincipalId
    principalType: 'ServicePrincipal'
  }
}
