// sites/config is discriminated by its name; 'web2' is not one of them.
// want: name: 'web2' is not one of
resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: 'app-fixture'
}

resource config 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'web2'
  properties: {}
}
