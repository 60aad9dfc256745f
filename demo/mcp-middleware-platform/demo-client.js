#!/usr/bin/env node
// The demo: an MCP client (the official SDK) talks to the demo server through the proxy and
// prints each step. Exits non-zero if any step fails.
//
//   node demo/mcp-middleware-platform/demo-client.js [--proxy-command "<command>"]
//
// Without --proxy-command it starts the built proxy (dist/cli.js) in front of
// simple-mcp-server.js. The command string is split into argv by the proxy's own parser:
// no shell.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const builtGovernor = join(root, 'dist', 'components', 'proxy-process-governor', 'index.js');
if (!existsSync(builtGovernor)) {
  console.error('demo: dist/ is missing. Run `npm ci` (or `npm run build`) first.');
  process.exit(1);
}
const { parseCommandLine } = await import(builtGovernor);

const { values } = parseArgs({ options: { 'proxy-command': { type: 'string' } } });
const serverScript = relative(process.cwd(), join(root, 'demo', 'mcp-middleware-platform', 'simple-mcp-server.js'));
const proxyCli = relative(process.cwd(), join(root, 'dist', 'cli.js'));
const proxyCommand = values["proxy-command"] ?? `node ${proxyCli} --proxy "node ${serverScript}" --allow "node demo/" --stdio`;
const [command, ...args] = parseCommandLine(proxyCommand);

const step = (n, title) => console.log(`\n${n}. ${title}`);
const show = (label, value) => console.log(`   ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);

console.log('mcp-middleware-platform demo: client -> proxy -> server');
show('proxy command', proxyCommand);

const transport = new StdioClientTransport({ command, args, stderr: 'pipe', env: { ...process.env, MCP_PROXY_LOG_LEVEL: process.env.MCP_PROXY_LOG_LEVEL ?? 'warn' } });
transport.stderr?.on('data', (chunk) => process.stderr.write(chunk));
const client = new Client({ name: 'demo-client', version: '1.0.0' });

try {
  step(1, 'initialize');
  await client.connect(transport);
  const info = client.getServerVersion();
  show('server', `${info?.name} ${info?.version}`);
  show('capabilities', client.getServerCapabilities());

  step(2, 'tools/list');
  const { tools } = await client.listTools();
  for (const tool of tools) show('tool', `${tool.name}: ${tool.description ?? ''}`);
  if (!tools.some((tool) => tool.name === 'echo')) throw new Error('the server lists no `echo` tool');

  step(3, 'tools/call echo');
  const text = 'hello through the proxy';
  show('arguments', { text });
  const result = await client.callTool({ name: 'echo', arguments: { text } });
  const reply = result.content?.[0]?.text;
  show('result', reply);
  if (result.isError || reply !== text.toUpperCase()) throw new Error(`expected ${JSON.stringify(text.toUpperCase())}, got ${JSON.stringify(reply)}`);

  console.log('\ndemo passed: every step answered through the proxy');
  await client.close();
} catch (error) {
  console.error(`\ndemo FAILED: ${error instanceof Error ? error.message : String(error)}`);
  await client.close().catch(() => {});
  process.exit(1);
}
