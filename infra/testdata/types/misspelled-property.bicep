// A property name with a typo (minimumTlsVerison) is not in the type.
// want: properties.minimumTlsVerison: property does not exist in 'Microsoft.Storage/storageAccounts@2023-05-01'
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stfixture'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVerison: 'TLS1_2'
  }
}
