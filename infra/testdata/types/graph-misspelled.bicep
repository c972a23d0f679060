// Graph extension resources are checked against the Graph types.
// want: signInAudiance: property does not exist in 'Microsoft.Graph/applications@v1.0'
extension microsoftGraphV1

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'fixture-app'
  displayName: 'Fixture'
  signInAudiance: 'AzureADMyOrg'
}
