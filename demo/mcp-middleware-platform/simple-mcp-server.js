#!/usr/bin/env node
// A small MCP server for the demo: NDJSON JSON-RPC on stdin/stdout, no SDK.
// Tools: `echo` (returns the text upper-cased), `read_file` and `delete_file` over a small
// in-memory workspace (one file of which holds a fake AWS key, for the redaction demo).
import { createInterface } from 'node:readline';

const SERVER_INFO = { name: 'simple-mcp-server', version: '1.0.0' };
const SUPPORTED_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

// A small in-memory "workspace", so the policy demos have something to read and to refuse.
const FILES = new Map([
  ['/workspace/README.md', '# Demo workspace\nNothing secret here.\n'],
  ['/workspace/config.env', 'DATABASE_URL=postgres://demo\naws_key=AKIAIOSFODNN7EXAMPLE\n'],
]);

const TOOLS = [
  {
    name: 'echo',
    description: 'Returns the text you send, upper-cased.',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  },
  {
    name: 'read_file',
    description: 'Reads a file of the demo workspace.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'delete_file',
    description: 'Deletes a file of the demo workspace.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

const text = (value, isError = false) => ({ content: [{ type: 'text', text: value }], ...(isError ? { isError: true } : {}) });

function callTool(name, args) {
  if (name === 'echo') {
    if (typeof args?.text !== 'string') return text('echo needs a string "text"', true);
    return text(args.text.toUpperCase());
  }
  if (name === 'read_file') {
    const content = FILES.get(args?.path);
    return content === undefined ? text(`no such file: ${args?.path}`, true) : text(content);
  }
  if (name === 'delete_file') {
    return FILES.delete(args?.path) ? text(`deleted ${args.path}`) : text(`no such file: ${args?.path}`, true);
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
