// Time to a new MCP session's first response (its initialize) with
// @modelcontextprotocol/server-everything (a dev dependency), each way a client could reach it:
// through the proxy over --http with --warm-servers 1 and 0; directly over stdio (the client
// spawns the server); server-everything's own Streamable HTTP server, already running; and, with
// --bridges <dir>, the stdio→HTTP bridges a user might run instead (supergateway, mcp-proxy;
// `npm install --prefix <dir> supergateway mcp-proxy`, outside the project). Each session is
// ended with DELETE, and the next starts after a pause (the warm pool refills meanwhile).
//
//   node bench/new-session.mjs [--runs 10] [--bridges <dir>] [--only <word>,…]
//
// --only keeps the ways whose name contains one of the words (e.g. `--only 'warm-servers 1,running'`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const { values } = parseArgs({ options: { runs: { type: 'string' }, bridges: { type: 'string' }, only: { type: 'string' } } });
const RUNS = Number(values.runs ?? 10);
const PAUSE_MS = 1500;
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'new-session-bench', version: '1' } } });
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
const freePort = () => 20_000 + Math.floor(Math.random() * 20_000);

async function listening(port, child) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => (socket.end(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(50);
  }
}

/** One new session over HTTP: ms to its initialize response, then DELETE. */
async function newHttpSession(port) {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: INIT });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200 || !text.includes('"serverInfo"')) throw new Error(`initialize failed: ${res.status} ${text.slice(0, 200)}`);
  const session = res.headers.get('mcp-session-id');
  if (session !== null) await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } });
  return ms;
}

/** Starts a process that serves /mcp on a port, runs the sessions, stops it. */
async function overHttp(file, args, port, extraEnv = {}) {
  const child = spawn(file, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await listening(port, child);
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      await sleep(PAUSE_MS);
      times.push(await newHttpSession(port));
    }
    return times;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  }
}

async function directStdio() {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    await sleep(300);
    const t0 = performance.now();
    const child = spawn(process.execPath, [ENTRY, 'stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.write(`${INIT}\n`);
    await new Promise((resolve) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('\n')) resolve();
      });
    });
    times.push(performance.now() - t0);
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return times;
}

function bridgeBin(pkg) {
  const dir = join(values.bridges, 'node_modules', pkg);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return join(dir, typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[pkg]);
}

const server = `${process.execPath} ${ENTRY} stdio`;
const proxy = (warm) => {
  const port = freePort();
  return overHttp(process.execPath, [join(ROOT, 'dist', 'cli.js'), '--http', `127.0.0.1:${port}`, '--warm-servers', String(warm), '--proxy', server, '--allow', `${process.execPath} ${ROOT}/`, '--log-level', 'warn'], port);
};
const ways = [
  ['proxy --http --warm-servers 1', () => proxy(1)],
  ['proxy --http --warm-servers 0', () => proxy(0)],
  ['direct stdio (spawn + initialize)', directStdio],
  ['server-everything over HTTP, running', () => {
    const port = freePort();
    return overHttp(process.execPath, [ENTRY, 'streamableHttp'], port, { PORT: String(port) });
  }],
  ...(values.bridges === undefined ? [] : [
    ['supergateway --stateful', () => {
      const port = freePort();
      return overHttp(process.execPath, [bridgeBin('supergateway'), '--stdio', server, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'], port);
    }],
    ['mcp-proxy --server stream', () => {
      const port = freePort();
      return overHttp(process.execPath, [bridgeBin('mcp-proxy'), '--host', '127.0.0.1', '--port', String(port), '--server', 'stream', '--', process.execPath, ENTRY, 'stdio'], port);
    }],
  ]),
];
const only = values.only?.split(',').map((word) => word.trim()).filter((word) => word !== '');
for (const [name, run] of ways) {
  if (only !== undefined && !only.some((word) => name.includes(word))) continue;
  const times = await run();
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`${name.padEnd(38)} min ${sorted[0].toFixed(1).padStart(7)} ms   median ${sorted[Math.floor(sorted.length / 2)].toFixed(1).padStart(7)} ms   (${RUNS} sessions)`);
}
