// A nested child's type is resolved with its parent's: 'containers' here is
// Microsoft.Storage/storageAccounts/blobServices/containers.
// want: 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' properties.publicAcess: property does not exist
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'stfixture'

  resource blobs 'blobServices' existing = {
    name: 'default'

    resource data 'containers' = {
      name: 'data'
      properties: {
        publicAcess: 'None'
      }
    }
  }
}
