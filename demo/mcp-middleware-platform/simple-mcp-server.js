#!/usr/bin/env node
// A small MCP server for the demo: NDJSON JSON-RPC on stdin/stdout, no SDK.
// Tools: `echo` (returns the text upper-cased).
import { createInterface } from 'node:readline';

const SERVER_INFO = { name: 'simple-mcp-server', version: '1.0.0' };
const SUPPORTED_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

const TOOLS = [
  {
    name: 'echo',
    description: 'Returns the text you send, upper-cased.',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  },
];

function callTool(name, args) {
  if (name === 'echo') {
    if (typeof args?.text !== 'string') return { content: [{ type: 'text', text: 'echo needs a string "text"' }], isError: true };
    return { content: [{ type: 'text', text: args.text.toUpperCase() }] };
  }
  return undefined;
}

function handle(message) {
  const { id, method, params } = message;
  switch (method) {
    case 'initialize': {
      const requested = params?.protocolVersion;
      return {
        protocolVersion: SUPPORTED_VERSIONS.includes(requested) ? requested : SUPPORTED_VERSIONS.at(-1),
        capabilities: { tools: {} },
        serverInfo: SERVER_INFO,
      };
    }
    case 'ping':
      return {};
    case 'tools/list':
      return { tools: TOOLS };
    case 'tools/call': {
      const result = callTool(params?.name, params?.arguments);
      if (result) return result;
      throw Object.assign(new Error(`Unknown tool: ${params?.name}`), { code: -32602 });
    }
    default:
      throw Object.assign(new Error(`Method not found: ${method}`), { code: -32601, id });
  }
}

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    return;
  }
  if (message.method === undefined || message.id === undefined) return; // notifications and responses
  try {
    send({ jsonrpc: '2.0', id: message.id, result: handle(message) });
  } catch (error) {
    send({ jsonrpc: '2.0', id: message.id, error: { code: error.code ?? -32603, message: error.message } });
  }
});
