// A role assignment needs the principal it grants the role to.
// want: properties.principalId: required property missing
param roleId string

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(roleId)
  properties: {
    roleDefinitionId: roleId
    principalType: 'ServicePrincipal'
  }
}
