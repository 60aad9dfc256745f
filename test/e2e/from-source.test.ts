// The proxy run from source, as the README shows it: `tsx ./cli.ts …`, no build. cli.ts sits
// beside package.json where dist/cli.js sits one folder below it, and both must find it.
// tsx is the locally installed one (node_modules/.bin/tsx), never fetched.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { forceKill, waitUntilGone } from '../helpers/proc-table.js';
import { ProxyProcess } from '../helpers/proxy-process.js';

const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DEMO_SERVER = 'demo/mcp-middleware-platform/simple-mcp-server.js';
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'from-source-test', version: '1.0.0' } } };

// The proxy's own settings come from the test alone, never from the environment it runs in.
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));

describe('tsx ./cli.ts, from the project folder', () => {
  test('--version prints package.json\'s version', () => {
    const result = spawnSync(process.execPath, [TSX, './cli.ts', '--version'], { cwd: ROOT, encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${VERSION}\n`);
  });

  test('--proxy "node demo/…" --stdio --allow "node demo/" answers initialize and tools/list', async () => {
    const args = [TSX, './cli.ts', '--proxy', `node ${DEMO_SERVER}`, '--stdio', '--allow', 'node demo/', '--log-level', 'debug'];
    // Its own process group: tsx runs the proxy in a child, and cleanup must reach both.
    const proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'], detached: true }));
    try {
      proxy.send(INITIALIZE);
      const initialized = await proxy.nextFrame(20_000);
      assert.equal(initialized.json.id, 1);
      assert.equal(initialized.json.result?.serverInfo?.name, 'simple-mcp-server');
      proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      proxy.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const listed = await proxy.nextFrame(10_000);
      assert.equal(listed.json.id, 2);
      assert.ok((listed.json.result?.tools as { name: string }[]).some((tool) => tool.name === 'echo'), JSON.stringify(listed.json));
      proxy.endInput();
      assert.deepEqual(await proxy.waitForExit(20_000), { code: 0, signal: null });
      proxy.assertStdoutClean();
    } finally {
      await dispose(proxy);
    }
  });
});

// A checkout without dist/ (the sources linked, the demo copied so it finds no build beside it),
// under a folder holding a stray package.json that must not be read.
describe('a checkout that was never built', () => {
  let outer: string;
  let checkout: string;

  before(() => {
    outer = mkdtempSync(join(tmpdir(), 'mcp-sidecar-from-source-'));
    writeFileSync(join(outer, 'package.json'), JSON.stringify({ name: 'stray', version: '9.9.9-stray' }));
    checkout = join(outer, 'checkout');
    mkdirSync(join(checkout, 'demo', 'mcp-middleware-platform'), { recursive: true });
    for (const file of ['cli.ts', 'package.json', 'demo/mcp-middleware-platform/demo-client.js', DEMO_SERVER]) copyFileSync(join(ROOT, file), join(checkout, file));
    symlinkSync(join(ROOT, 'components'), join(checkout, 'components'));
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
    assert.ok(!existsSync(join(checkout, 'dist')));
  });
  after(() => rmSync(outer, { recursive: true, force: true }));

  test('--version reads the package.json beside cli.ts, not one further up', () => {
    const result = spawnSync(process.execPath, [TSX, './cli.ts', '--version'], { cwd: checkout, encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${VERSION}\n`);
  });

  test('the demo client runs step 1 through `tsx ./cli.ts`, with no --allow and no dist/', () => {
    const proxyCommand = `node_modules/.bin/tsx ./cli.ts --proxy 'node ${DEMO_SERVER}' --stdio`;
    const result = spawnSync(process.execPath, ['demo/mcp-middleware-platform/demo-client.js', '--proxy-command', proxyCommand], {
      cwd: checkout, encoding: 'utf8', env: cleanEnv(), timeout: 60_000,
    });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /result: HELLO THROUGH THE PROXY/);
    assert.match(result.stdout, /demo passed/);
  });
});

/** Closes the proxy's input, then kills what is left: the proxy's group and the server's. */
async function dispose(proxy: ProxyProcess): Promise<void> {
  const server = proxy.logs().find((record) => record.msg === 'started the MCP server');
  if (proxy.exit === undefined) {
    proxy.endInput();
    await Promise.race([proxy.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  forceKill(proxy.pid, true);
  if (typeof server?.pid === 'number') forceKill(server.pid, true);
  await waitUntilGone(proxy.pid, 2000);
}
