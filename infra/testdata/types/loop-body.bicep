// A resource loop: the body is the object after the colon, not an object
// inside the iterated array.
// want: tagz: property does not exist in 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'
resource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in [
  {
    name: 'id-a'
  }
]: {
  name: n.name
  location: 'westeurope'
  tagz: {}
}]
