// A boolean where the type has a string.
// want: properties.displayName: true where string is expected
resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: 'apim-fixture'
}

resource nv 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'fixture'
  properties: {
    displayName: true
    value: 'x'
  }
}
