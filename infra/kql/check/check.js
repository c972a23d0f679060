// Checks the KQL files in infra/kql with Microsoft's Kusto language service
// (the parser and semantic analyzer behind the Log Analytics editor) against
// the documented schemas of the tables they read. Prints one line per error
// and exits 1 when there is any.
//
//   node infra/kql/check/check.js <node_modules dir> <file.kql>...
// (check.sh installs the language service and runs this.)
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  console.error("usage: check.js <node_modules dir> <file.kql>...");
  process.exit(2);
}
const pkg = path.join(modules, "@kusto", "language-service-next");
require(path.join(pkg, "bridge.min.js"));
require(path.join(pkg, "Kusto.Language.Bridge.min.js"));
const K = global.Kusto.Language;

// Columns as documented in the Azure Monitor table reference
// (learn.microsoft.com/azure/azure-monitor/reference/tables/<table>).
const tables = {
  AppEvents:
    "(TimeGenerated:datetime, Name:string, Properties:dynamic, Measurements:dynamic, " +
    "OperationId:string, OperationName:string, ParentId:string, SessionId:string, " +
    "AppRoleName:string, AppRoleInstance:string, AppVersion:string, ClientIP:string, " +
    "ClientType:string, IKey:string, ItemCount:int, ResourceGUID:string, SDKVersion:string, " +
    "SyntheticSource:string, UserAccountId:string, UserAuthenticatedId:string, UserId:string, " +
    "SourceSystem:string, TenantId:string, Type:string, _ResourceId:string)",
  ApiManagementGatewayLogs:
    "(TimeGenerated:datetime, ApiId:string, ApimSubscriptionId:string, ApiRevision:string, " +
    "BackendId:string, BackendMethod:string, BackendProtocol:string, BackendRequestBody:string, " +
    "BackendRequestHeaders:dynamic, BackendResponseBody:string, BackendResponseCode:int, " +
    "BackendResponseHeaders:dynamic, BackendTime:long, BackendUrl:string, Cache:string, " +
    "CacheTime:long, CallerIpAddress:string, Category:string, ClientProtocol:string, " +
    "ClientTime:long, ClientTlsVersion:string, CorrelationId:string, Errors:dynamic, " +
    "IsRequestSuccess:bool, LastErrorElapsed:long, LastErrorMessage:string, LastErrorReason:string, " +
    "LastErrorScope:string, LastErrorSection:string, LastErrorSource:string, Method:string, " +
    "OperationId:string, ProductId:string, Region:string, RequestBody:string, " +
    "RequestHeaders:dynamic, ResponseBody:string, ResponseCode:int, ResponseHeaders:dynamic, " +
    "ResponseSize:int, TotalTime:long, Url:string, UserId:string, SourceSystem:string, TenantId:string, " +
    "Type:string, _ResourceId:string)",
  // Written by the gateway's GatewayMCPLogs category (MCP server API type).
  ApiManagementGatewayMCPLog:
    "(TimeGenerated:datetime, ApiType:string, AuthenticationMethod:string, ClientName:string, " +
    "ClientVersion:string, CorrelationId:string, Error:string, ErrorType:string, " +
    "McpServerEndpoint:string, Method:string, OperationName:string, ProtocolVersion:string, " +
    "Region:string, ServerName:string, ServerVersion:string, SessionId:string, ToolCount:int, " +
    "ToolName:string, TransportType:string, SourceSystem:string, TenantId:string, Type:string, " +
    "_ResourceId:string)",
  // The gateway's Application Insights requests (customDimensions in Properties:
  // "api.type", "gen_ai.operation.name", "gen_ai.tool.name", ...).
  AppRequests:
    "(TimeGenerated:datetime, Id:string, Source:string, Name:string, Url:string, Success:bool, " +
    "ResultCode:string, DurationMs:real, PerformanceBucket:string, Properties:dynamic, " +
    "Measurements:dynamic, OperationName:string, OperationId:string, ParentId:string, " +
    "SyntheticSource:string, SessionId:string, UserId:string, UserAuthenticatedId:string, " +
    "UserAccountId:string, AppVersion:string, AppRoleName:string, AppRoleInstance:string, " +
    "ClientType:string, ClientIP:string, IKey:string, SDKVersion:string, ItemCount:int, " +
    "ResourceGUID:string, SourceSystem:string, TenantId:string, Type:string, _ResourceId:string)",
};

const symbols = Object.entries(tables).map(
  ([name, schema]) => new K.Symbols.TableSymbol.$ctor7(name, schema, null));
const db = new K.Symbols.DatabaseSymbol.$ctor2("workspace", null, symbols);
const globals = K.GlobalState.Default.WithDatabase(db);

function list(enumerable) {
  const out = [];
  const e = enumerable.GetEnumerator();
  while (e.moveNext()) out.push(e.Current);
  return out;
}

function lineOf(text, offset) {
  return text.slice(0, offset).split("\n").length;
}

let failed = 0;
for (const file of files) {
  let errors = 0;
  const text = fs.readFileSync(file, "utf8");
  const code = K.KustoCode.ParseAndAnalyze(text, globals);
  for (const d of list(code.GetDiagnostics())) {
    if (String(d.Severity) !== "Error") continue;
    errors++;
    console.log(`${file}:${lineOf(text, d.Start)}: ${d.Message}`);
  }
  if (!text.startsWith("// ")) {
    errors++;
    console.log(`${file}:1: must start with a comment saying what it answers and how to run it`);
  }
  if (errors) failed++;
}
console.log(`${files.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
