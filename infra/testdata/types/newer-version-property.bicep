// mcpProperties exists only from 2025-09-01-preview on; the finding names
// the version that has it.
// want: properties.mcpProperties: property does not exist in 'Microsoft.ApiManagement/service/apis@2024-05-01' (it exists in 2025-09-01-preview)
resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: 'apim-fixture'
}

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'mcp'
  properties: {
    path: 'mcp'
    mcpProperties: {}
  }
}
