// No Microsoft.Web/sites API version 2099-01-01.
// want: API version 2099-01-01 of Microsoft.Web/sites is not in the type definitions
resource site 'Microsoft.Web/sites@2099-01-01' = {
  name: 'app-fixture'
  location: 'westeurope'
}
