// A fault that no frame's boundary catches still runs the stop sequence: the server (one that
// ignores stdin EOF) is stopped before the proxy exits with 1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureServer } from '../helpers/paths.js';
import { isAlive, waitUntilGone } from '../helpers/proc-table.js';
import { spawnProxy } from '../helpers/proxy-process.js';

test('an uncaught exception in the proxy stops the server, then exits 1', async (t) => {
  const preload = new URL('../fixtures/inject-fatal.mjs', import.meta.url).href;
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_'))), NODE_OPTIONS: `--import=${preload}` };
  const proxy = spawnProxy([process.execPath, fixtureServer('scripted-server.js'), '--linger'], { env, args: ['--stdin-close-grace-ms', '200', '--kill-timeout-ms', '1000'] });
  t.after(() => proxy.dispose());
  const serverPid = await proxy.serverPid();
  proxy.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
  assert.deepEqual((await proxy.nextFrame()).json, { jsonrpc: '2.0', id: 1, result: {} });
  proxy.child.kill('SIGUSR2');
  const exit = await proxy.waitForExit();
  assert.equal(exit.code, 1, 'internal error exit code');
  assert.match(proxy.stderr.bytes.toString('utf8'), /internal error, stopping: Error: injected fatal error/);
  assert.ok(await waitUntilGone(serverPid, 3000), 'the server was stopped, not left behind');
  assert.equal(isAlive(serverPid), false);
  proxy.assertStdoutClean();
});
