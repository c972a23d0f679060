// The Flex Consumption (FC1) plan and the function app that runs the Go custom
// handler. Settings that need values known only after this app and the Entra
// registration exist (host name, client id) are written afterwards by
// function-config.bicep; this module starts the app with the host's basics.

param location string
param tags object
param planName string
param functionAppName string

@description('azd service name this app deploys (azure.yaml services key).')
param serviceName string = 'mcp'

param identityId string
param deploymentContainerUrl string

@description('App settings the host needs from the first start (storage, telemetry, feature flag).')
param baseAppSettings object

@description('Memory per instance, MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on scale-out.')
// Flex Consumption refuses fewer than 40 (its minimum ceiling) and more than 1000.
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Browser origins for platform CORS on the direct URL; empty for none.')
param allowedOrigins array = []

@description('Subnet delegated to Microsoft.App/environments for VNet integration; empty for none.')
param virtualNetworkSubnetId string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Platform CORS answers browser preflights for the direct URL. Built-in
      // auth has no preflight exemption (excludedPaths would drop auth on
      // /mcp altogether); the gateway's <cors> answers them for certain.
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
      appSettings: [for setting in items(baseAppSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// Basic-auth publishing (FTP and the SCM site with a password) is off: azd
// deploys with an Entra token.
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output id string = site.id
output planId string = plan.id
// Flex Consumption may give the app a host name with a unique suffix, so the
// real value is read here instead of being assumed from the app's name.
output defaultHostName string = site.properties.defaultHostName
