// Storage account names have 3 to 24 characters.
// want: name: 'st' has length 2 outside [3, 24]
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
}
