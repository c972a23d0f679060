// Storage for the Functions host, the deployment package and the server's data.
// Shared-key access is off: every caller (host, server, deployment) uses Entra
// identities. Soft delete and versioning make a deleted or overwritten snippet
// recoverable.

param location string
param tags object
param storageAccountName string
param deploymentContainerName string

@description('Days a deleted blob or container stays recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('Days each chain anchor of the audit trail stays unchangeable and undeletable (the time-based immutability policy of the audit-anchors container). The policy is left unlocked: lock it for production, and remove it before deleting the account.')
@minValue(1)
@maxValue(146000)
param auditAnchorRetentionDays int = 30

@description('Subnet for the blob private endpoint; empty keeps the account on its public endpoint.')
param privateEndpointSubnetId string = ''

@description('Private DNS zone for privatelink.blob; required with privateEndpointSubnetId.')
param blobDnsZoneId string = ''

var usePrivateEndpoint = !empty(privateEndpointSubnetId)

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: usePrivateEndpoint ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: usePrivateEndpoint ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource snippets 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'snippets'
  properties: {
    publicAccess: 'None'
  }
}

resource approvals 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'approvals'
  properties: {
    publicAccess: 'None'
  }
}

// The chain anchors of the audit trail (docs/AUDIT.md, "Tamper evidence"):
// one append blob per server process and day. Time-based immutability keeps
// every anchor from being changed or deleted for the retention period;
// protected append writes let the server add lines to its blobs.
resource auditAnchors 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'audit-anchors'
  properties: {
    publicAccess: 'None'
  }
}

resource auditAnchorsImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: auditAnchors
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditAnchorRetentionDays
    allowProtectedAppendWrites: true
  }
}

resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource blobEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (usePrivateEndpoint) {
  name: 'pe-blob-${storageAccountName}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: privateEndpointSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'blob'
        properties: {
          privateLinkServiceId: account.id
          groupIds: [
            'blob'
          ]
        }
      }
    ]
  }
}

resource blobEndpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (usePrivateEndpoint) {
  parent: blobEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'blob'
        properties: {
          privateDnsZoneId: blobDnsZoneId
        }
      }
    ]
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deployment.name}'
