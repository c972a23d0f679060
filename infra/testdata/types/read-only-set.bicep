// provisioningState is read-only: Azure reports it, a template cannot set it.
// want: properties.provisioningState: read-only property set
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stfixture'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    provisioningState: 'Succeeded'
  }
}
