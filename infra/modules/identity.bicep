// User-assigned managed identities: one for the function app (storage, telemetry,
// and the Entra app's federated credential), one for API Management (telemetry only).
// Separate identities keep each workload's grants to what it needs.

param location string
param tags object
param appIdentityName string
param apimIdentityName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: appIdentityName
  location: location
  tags: tags
}

resource apimIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: apimIdentityName
  location: location
  tags: tags
}

output appIdentityId string = appIdentity.id
output appIdentityClientId string = appIdentity.properties.clientId
output appIdentityPrincipalId string = appIdentity.properties.principalId
output apimIdentityId string = apimIdentity.id
output apimIdentityClientId string = apimIdentity.properties.clientId
output apimIdentityPrincipalId string = apimIdentity.properties.principalId
