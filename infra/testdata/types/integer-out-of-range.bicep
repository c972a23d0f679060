// Soft delete keeps blobs 1 to 365 days.
// want: properties.deleteRetentionPolicy.days: 0 outside [1, 365]
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'stfixture'
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 0
    }
  }
}
