// Issue 19, item 3: a server that starts a grandchild in a session of its own (setsid) and then
// crashes must not leave it alive. A storm of 12 crashes, each server leaving such a grandchild
// (one that ignores SIGTERM), then a clean stop: no process of the server's is left, and a
// process that was never the server's is untouched.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { fixtureServer } from '../helpers/paths.js';
import { isRunning, waitFor } from '../helpers/processes.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';

/** The running (not zombie) processes whose command line holds `marker`. */
function processesMarked(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      if (argv.includes(marker) && isRunning(Number(name))) found.push(Number(name));
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

const CRASHES = 12;
const INITIALIZE = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'storm', version: '1' } } };

describe('orphans after restarts', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const marker = `orphan-${randomUUID()}`;
  const bystanderMarker = `bystander-${randomUUID()}`;
  let proxy: ProxyProcess | undefined;
  // Not the server's: started by the test, in a session of its own, like the server's grandchildren.
  const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', bystanderMarker], { detached: true, stdio: 'ignore' });
  after(async () => {
    await proxy?.dispose();
    for (const pid of [...processesMarked(marker), bystander.pid!]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  test(`${CRASHES} crashes, each leaving a setsid grandchild, then a clean stop: nothing of the server's is left`, async () => {
    proxy = spawnProxy([process.execPath, fixtureServer('orphaning-server.js'), marker], {
      args: ['--max-restarts', String(CRASHES), '--restart-backoff-ms', '10', '--restart-backoff-max-ms', '50', '--kill-timeout-ms', '300', '--circuit-failures', '0'],
      logLevel: 'info',
    });
    proxy.send(INITIALIZE);
    assert.ok((await proxy.nextFrame()).json.result, 'initialized');
    for (let id = 1; id <= CRASHES; id++) {
      proxy.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'crash', arguments: {} } });
      const { json } = await proxy.nextFrame(10_000);
      assert.deepEqual([json.id, json.error?.data?.code], [id, 'SIDECAR_ERR_UPSTREAM_EXITED']);
    }
    // The 13th server is up (the replayed initialize answered, a ping served) with its own grandchild.
    proxy.send({ jsonrpc: '2.0', id: 'last', method: 'ping' });
    assert.deepEqual((await proxy.nextFrame(10_000)).json, { jsonrpc: '2.0', id: 'last', result: {} });
    proxy.endInput();
    assert.deepEqual(await proxy.waitForExit(20_000), { code: 0, signal: null });

    await waitFor(() => processesMarked(marker).length === 0, 5000, 'every process of the server\'s to be gone');
    const logs = proxy.logs();
    const swept = logs.filter((r) => r.msg === 'ended the processes the MCP server left behind when it exited').reduce((sum, r) => sum + (r.descendantsSignalled as number), 0);
    assert.equal(swept, CRASHES, 'each crashed server\'s grandchild was swept after its exit');
    assert.equal(logs.find((r) => r.msg === 'proxy stopped')?.descendantsSignalled, 1, 'the last server\'s, at the final stop');
    assert.equal(logs.filter((r) => r.msg === 'started the MCP server').length, CRASHES + 1);
    assert.ok(!logs.some((r) => /survived SIGKILL/.test(String(r.msg))));
    assert.equal(isRunning(bystander.pid!), true, 'a process that is not the server\'s is never signalled');
    assert.deepEqual(processesMarked(bystanderMarker), [bystander.pid]);
  });
});
