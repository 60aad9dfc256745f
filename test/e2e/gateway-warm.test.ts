// Warm servers per service end to end (dist/cli.js --servers --http): two demo servers, each
// with its own pool (`warm: 1`). A new MCP session's governors run the servers their pools
// started before the session existed (the session's first response waits for no spawn), each
// pool replaces its server in the background with its own service's command, and at stop no
// pooled process survives.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { INITIALIZE, send } from '../helpers/http-raw.js';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { forceKill, isAlive, waitUntilGone } from '../helpers/proc-table.js';
import { ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO_SERVER = commandLine([process.execPath, join(ROOT, 'demo', 'mcp-middleware-platform', 'simple-mcp-server.js')]);
const SERVICES = ['alpha', 'beta'] as const;

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
}

describe('warm servers per service through the CLI', () => {
  let proxy: ProxyProcess;
  let port: number;
  const warmStarts = () => proxy.logs().filter((r) => r.msg === 'started a warm server' && typeof r.pid === 'number');

  before(async () => {
    const file = join(tempDir('gateway-warm'), 'servers.yaml');
    writeFileSync(file, ['servers:', ...SERVICES.map((name) => `  - { name: ${name}, command: ${JSON.stringify(DEMO_SERVER)}, warm: 1 }`)].join('\n'));
    const args = [CLI, '--servers', file, '--http', '127.0.0.1:0', '--warm-servers', '0', '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'debug'];
    proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    port = ((await proxy.waitForLog((r) => r.msg === 'serving MCP over Streamable HTTP', 10_000)).address as { port: number }).port;
    for (const service of SERVICES) {
      await proxy.waitForLog((r) => r.msg === 'a warm server answered its ping: ready' && r.service === service, 10_000);
    }
  });

  after(() => {
    if (proxy.exit === undefined) proxy.child.kill('SIGKILL');
    for (const record of warmStarts()) forceKill(record.pid as number, true);
  });

  test('a new session runs each service\'s waiting server, and stop leaves none behind', async () => {
    const waiting = new Map(warmStarts().map((r) => [r.service as string, r.pid as number]));
    assert.deepEqual([...waiting.keys()].sort(), [...SERVICES], 'one server per service waits before any client came (--warm-servers 0: `warm` wins)');

    const response = await send(port, { body: INITIALIZE });
    assert.equal(response.status, 200);
    const sessionId = response.headers['mcp-session-id'];
    assert.equal(typeof sessionId, 'string');
    assert.ok((await response.json()).result?.capabilities !== undefined, 'the gateway answered the initialize');
    for (const service of SERVICES) {
      const started = proxy.logs().find((r) => r.msg === 'started the MCP server' && r.session === sessionId && r.service === service);
      assert.equal(started?.pid, waiting.get(service), `the session's ${service} governor runs the server its pool started`);
      assert.ok(proxy.logs().some((r) => r.msg === 'the session runs a warm server' && r.session === sessionId && r.service === service));
    }

    // Each pool's replacement, in the background, for its own service.
    for (const service of SERVICES) {
      const replacement = await proxy.waitForLog((r) => r.msg === 'started a warm server' && r.service === service && r.pid !== waiting.get(service), 5000);
      assert.ok(isAlive(replacement.pid as number));
    }

    proxy.child.kill('SIGTERM');
    assert.deepEqual(await proxy.waitForExit(15_000), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    for (const record of warmStarts()) assert.ok(await waitUntilGone(record.pid as number, 3000), `server ${String(record.pid)} is gone`);
    const errors = proxy.logs().filter((r) => (r.level ?? 0) >= 50);
    assert.deepEqual(errors, [], 'no error was logged');
  });
});
