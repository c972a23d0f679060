// The custom domain's binding again, now with its certificate (SNI): see
// function-domain.bicep for why it is declared twice.

param functionAppName string
param hostName string
param thumbprint string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource binding 'Microsoft.Web/sites/hostNameBindings@2024-04-01' = {
  parent: site
  name: hostName
  properties: {
    siteName: functionAppName
    hostNameType: 'Verified'
    sslState: 'SniEnabled'
    thumbprint: thumbprint
  }
}
