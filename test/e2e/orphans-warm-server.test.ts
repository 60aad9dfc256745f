// Issue 19, item 3, for warm servers: a server the pool started (--warm-servers) that leaves a
// grandchild in a session of its own (setsid, ignoring SIGTERM) and dies while it waits must not
// leave that grandchild alive; the pool's replacement and its own grandchild end at the stop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI, ROOT, commandLine, fixtureServer } from '../helpers/paths.js';
import { isRunning, waitFor } from '../helpers/processes.js';
import { ProxyProcess } from '../helpers/proxy-process.js';

/** The running (not zombie) processes whose command line holds `marker`, with their argv. */
function processesMarked(marker: string): Array<{ pid: number; argv: string[] }> {
  const found: Array<{ pid: number; argv: string[] }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      if (argv.includes(marker) && isRunning(Number(name))) found.push({ pid: Number(name), argv });
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

describe('orphans of a warm server', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const marker = `warm-orphan-${randomUUID()}`;
  let proxy: ProxyProcess | undefined;
  after(() => {
    if (proxy !== undefined && proxy.exit === undefined) proxy.child.kill('SIGKILL');
    for (const { pid } of processesMarked(marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  test('a waiting server that dies leaves no grandchild; the stop leaves nothing', async () => {
    const server = fixtureServer('orphaning-server.js');
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
    const args = [
      CLI, '--http', '127.0.0.1:0', '--warm-servers', '1', '--kill-timeout-ms', '300', '--log-level', 'debug',
      '--proxy', commandLine([process.execPath, server, marker]), '--allow', commandLine([process.execPath, `${dirname(server)}/`]),
    ];
    proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] }));
    const started = await proxy.waitForLog((r) => r.msg === 'started a warm server', 10_000);
    const firstPid = started.pid as number;
    // Ready: it answered the ping, and the pool looked for its descendants then.
    await proxy.waitForLog((r) => r.msg === 'a warm server answered its ping: ready' && r.pid === firstPid, 10_000);
    const grandchild = processesMarked(marker).find(({ pid, argv }) => pid !== firstPid && argv.includes('grandchild'));
    assert.ok(grandchild, 'the waiting server started its grandchild');

    process.kill(firstPid, 'SIGKILL'); // it dies while waiting; its grandchild is init's now
    const swept = await proxy.waitForLog((r) => r.msg === 'ended the processes a warm server left behind when it exited', 10_000);
    assert.deepEqual([swept.pid, swept.descendantsSignalled], [firstPid, 1]);
    await waitFor(() => !isRunning(grandchild.pid), 5000, 'the dead warm server\'s grandchild to be gone');

    // The replacement, after the backoff, with a grandchild of its own: the stop ends both.
    const replacement = await proxy.waitForLog((r) => r.msg === 'a warm server answered its ping: ready' && r.pid !== firstPid, 10_000);
    assert.ok(processesMarked(marker).some(({ pid }) => pid === replacement.pid));
    proxy.child.kill('SIGTERM');
    assert.deepEqual(await proxy.waitForExit(15_000), { code: 0, signal: null });
    await waitFor(() => processesMarked(marker).length === 0, 5000, 'every process of the warm servers to be gone');
    assert.ok(!proxy.logs().some((r) => /survived SIGKILL/.test(String(r.msg))));
  });
});
