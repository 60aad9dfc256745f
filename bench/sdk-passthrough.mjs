#!/usr/bin/env node
// The peer: the stdio proxy a user would write with the MCP SDK in 30 lines. North, a
// StdioServerTransport on this process's stdin/stdout; south, a StdioClientTransport that
// starts the server. Every message is parsed, validated and re-serialized on its way (the
// SDK's transports do that), and frames are capped at the SDK's 10 MiB.
//   node bench/sdk-passthrough.mjs <server command> [args...]
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: sdk-passthrough.mjs <server command> [args...]\n');
  process.exit(2);
}

const north = new StdioServerTransport();
const south = new StdioClientTransport({ command, args, stderr: 'inherit' });
north.onmessage = (message) => void south.send(message);
south.onmessage = (message) => void north.send(message);
north.onerror = (error) => process.stderr.write(`sdk-passthrough (client side): ${error.message}\n`);
south.onerror = (error) => process.stderr.write(`sdk-passthrough (server side): ${error.message}\n`);
south.onclose = () => process.exit(0);
// StdioServerTransport does not watch for EOF on stdin: the client closing it means stop.
process.stdin.once('end', () => void south.close());

await south.start();
await north.start();
