// accessTier is a closed enum: 'Warm' is not one of its values. The
// minimumTlsVersion union also holds a string type, so an unknown literal
// there is accepted (Bicep warns, it does not fail): one finding only.
// want: properties.accessTier: 'Warm' is not one of 'Hot' | 'Cool' | 'Premium' | 'Cold'
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stfixture'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Warm'
    minimumTlsVersion: 'TLS1_4'
  }
}
