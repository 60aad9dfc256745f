// The README's MCP-client configurations: a client app starts the proxy from its own working
// folder, not the project's, with an `env` the server sees only when --pass-env names it.
// The forms under test: `node <checkout>/dist/cli.js …`, and `mcp-sidecar` as `npm link` /
// `npm install -g` leave it (bin -> lib/node_modules/<package> -> the checkout, dist/cli.js).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, ROOT, commandLine, fixtureServer } from '../helpers/paths.js';
import { ProxyProcess, type Frame } from '../helpers/proxy-process.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DEMO_SERVER = join(ROOT, 'demo', 'mcp-middleware-platform', 'simple-mcp-server.js');
const ENV_SERVER = fixtureServer('env-server.js');
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'client-config-test', version: '1.0.0' } } };

let elsewhere: string;
let linkedBin: string;

before(() => {
  elsewhere = mkdtempSync(join(tmpdir(), 'mcp-sidecar-client-cwd-'));
  // What `npm link` makes of this checkout under a prefix: a package link and a bin link into it.
  const prefix = join(elsewhere, 'prefix');
  mkdirSync(join(prefix, 'lib', 'node_modules'), { recursive: true });
  mkdirSync(join(prefix, 'bin'));
  symlinkSync(ROOT, join(prefix, 'lib', 'node_modules', 'mcp-middleware-platform'));
  linkedBin = join(prefix, 'bin', 'mcp-sidecar');
  symlinkSync(join('..', 'lib', 'node_modules', 'mcp-middleware-platform', 'dist', 'cli.js'), linkedBin);
});
after(() => rmSync(elsewhere, { recursive: true, force: true }));

/** The proxy as a client app starts it: from an unrelated folder, with only the config's environment. */
function startFromElsewhere(cli: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ProxyProcess {
  const child = spawn(process.execPath, [cli, ...args, '--log-level', 'warn'], {
    cwd: elsewhere, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new ProxyProcess(child);
}

async function request(proxy: ProxyProcess, message: { id: number } & Record<string, unknown>): Promise<Frame> {
  proxy.send(message);
  const { json } = await proxy.nextFrame(10_000);
  assert.equal(json.id, message.id, JSON.stringify(json));
  return json;
}

async function finish(proxy: ProxyProcess): Promise<void> {
  try {
    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    proxy.assertStdoutClean();
  } finally {
    await proxy.dispose();
  }
}

describe('started from a folder that is not the project', () => {
  test('node <checkout>/dist/cli.js --proxy "<absolute command>" answers initialize and tools/list', async () => {
    const server = [process.execPath, DEMO_SERVER];
    const proxy = startFromElsewhere(CLI, ['--proxy', commandLine(server), '--allow', commandLine([process.execPath, `${join(ROOT, 'demo')}/`]), '--stdio']);
    try {
      assert.equal((await request(proxy, INITIALIZE)).result?.serverInfo?.name, 'simple-mcp-server');
      proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const tools = (await request(proxy, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).result?.tools as { name: string }[];
      assert.ok(tools.some((tool) => tool.name === 'echo'));
    } finally {
      await finish(proxy);
    }
  });

  test('the linked mcp-sidecar bin finds its package.json (--version)', () => {
    const result = spawnSync(process.execPath, [linkedBin, '--version'], { cwd: elsewhere, encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${VERSION}\n`);
  });
});

describe('a config `env` entry reaches the server only when --pass-env names it', () => {
  const serverCommand = commandLine([process.execPath, ENV_SERVER]);
  const allow = commandLine([process.execPath, ENV_SERVER]);
  const configEnv = { MEMORY_FILE_PATH: '/somewhere/memory.jsonl', UNNAMED_SECRET: 'not-for-the-server' };

  async function serverEnvironment(extraArgs: readonly string[]): Promise<Record<string, string>> {
    const proxy = startFromElsewhere(linkedBin, ['--proxy', serverCommand, '--allow', allow, ...extraArgs, '--stdio'], configEnv);
    try {
      await request(proxy, INITIALIZE);
      return (await request(proxy, { jsonrpc: '2.0', id: 2, method: 'fixture/env' })).result?.env as Record<string, string>;
    } finally {
      await finish(proxy);
    }
  }

  test('not named: neither variable reaches the server', async () => {
    const env = await serverEnvironment([]);
    assert.equal(env.MEMORY_FILE_PATH, undefined);
    assert.equal(env.UNNAMED_SECRET, undefined);
    assert.equal(env.PATH, process.env.PATH, 'the base environment still passes');
  });

  test('--pass-env MEMORY_FILE_PATH: that one reaches the server, the other still does not', async () => {
    const env = await serverEnvironment(['--pass-env', 'MEMORY_FILE_PATH']);
    assert.equal(env.MEMORY_FILE_PATH, '/somewhere/memory.jsonl');
    assert.equal(env.UNNAMED_SECRET, undefined);
  });

  test('--set-env in the args sets a value without any `env` entry', async () => {
    const env = await serverEnvironment(['--set-env', 'MEMORY_FILE_PATH=/elsewhere/memory.jsonl']);
    assert.equal(env.MEMORY_FILE_PATH, '/elsewhere/memory.jsonl');
  });
});
