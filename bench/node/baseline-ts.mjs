// baseline-ts: the official TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in package.json) as a stateless Streamable HTTP server with one
// echo tool, the peer of bench/cmd/baseline-mcp and baseline-gosdk in
// `make bench`. It runs the way the SDK's stateless example and the Azure
// Functions Node MCP sample run it: an Express app from the SDK
// (createMcpExpressApp: Host check, JSON body parser), and a new McpServer
// and StreamableHTTPServerTransport for every POST /mcp, with
// sessionIdGenerator undefined (no sessions) and enableJsonResponse true
// (JSON answers, no SSE). The echo tool's input schema is one required
// string "message", declared with zod as SDK users do (the SDK validates
// the arguments against it on every call).
//
// It listens on 127.0.0.1 at FUNCTIONS_CUSTOMHANDLER_PORT (default 7084),
// answers GET /healthz, and exits 0 on SIGTERM or SIGINT. Run it with the
// pinned Node: node_modules/.bin/node bench/node/baseline-ts.mjs
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import * as z from 'zod/v4';

function getServer() {
  const server = new McpServer({ name: 'baseline-ts', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns its message.', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  return server;
}

const app = createMcpExpressApp({ host: '127.0.0.1' });

app.post('/mcp', async (req, res) => {
  const server = getServer();
  try {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (error) {
    console.error('baseline-ts: handling an MCP request:', error);
    if (!res.headersSent) {
      res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  }
});

// Stateless: no streams to resume and no sessions to end.
const notAllowed = (_req, res) => {
  res.status(405).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
};
app.get('/mcp', notAllowed);
app.delete('/mcp', notAllowed);

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const port = Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT || '7084');
const httpServer = app.listen(port, '127.0.0.1', (error) => {
  if (error) {
    console.error('baseline-ts: listen (FUNCTIONS_CUSTOMHANDLER_PORT):', error);
    process.exit(1);
  }
});

function stop() {
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
