// A custom domain on the function app, for RFC 8707 clients: Entra accepts an
// https identifier URI on a single-tenant app only on a domain verified in the
// tenant (HostNameNotOnVerifiedDomain otherwise), and *.azurewebsites.net can
// never be verified. Before `azd up`: verify the domain in Entra, create a
// CNAME <hostName> -> <app>.azurewebsites.net and the TXT record
// asuid.<hostName> with the app's custom domain verification id.
//
// Binding, then certificate, then the SNI binding: App Service issues a
// managed certificate only for a host name already bound, so the binding is
// declared twice (here without TLS, in function-domain-sni.bicep with it).

param location string
param tags object
param functionAppName string
param planId string

@description('Custom host name verified in the Entra tenant, e.g. mcp.contoso.com.')
param hostName string

@description('Thumbprint of a certificate for hostName already in this resource group; empty creates an App Service managed certificate.')
param certificateThumbprint string = ''

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource binding 'Microsoft.Web/sites/hostNameBindings@2024-04-01' = {
  parent: site
  name: hostName
  properties: {
    siteName: functionAppName
    hostNameType: 'Verified'
    sslState: 'Disabled'
  }
}

resource managedCert 'Microsoft.Web/certificates@2024-04-01' = if (empty(certificateThumbprint)) {
  name: 'cert-${hostName}'
  location: location
  tags: tags
  properties: {
    serverFarmId: planId
    canonicalName: hostName
  }
  dependsOn: [
    binding
  ]
}

module sni 'function-domain-sni.bicep' = {
  name: 'function-domain-sni'
  params: {
    functionAppName: functionAppName
    hostName: hostName
    thumbprint: empty(certificateThumbprint) ? managedCert.properties.thumbprint : certificateThumbprint
  }
}

output mcpUrl string = 'https://${hostName}/mcp'
