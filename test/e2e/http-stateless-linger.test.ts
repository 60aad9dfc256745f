// End to end through the built CLI (dist/cli.js --http): the v2 SDK client in `auto` mode probes
// with `server/discover`, which starts a stateless server-everything, then falls back to a
// legacy session. The probe's server must be stopped --http-stateless-linger-ms after its last
// use (not the idle timeout), while the session's server runs on; stateless requests within the
// linger share one server, and that one stops too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { send } from '../helpers/http-raw.js';
import { ALLOW_REPO_SCRIPTS, CLI, EVERYTHING_COMMAND, ROOT } from '../helpers/paths.js';
import { forceKill, groupPids, isAlive, waitUntilGone } from '../helpers/proc-table.js';
import { ProxyProcess, type LogRecord } from '../helpers/proxy-process.js';
import { waitForValue } from '../helpers/wait.js';

const LINGER_MS = 1000;
// The stop sequence after the linger: server-everything exits on stdin EOF, well inside this.
const STOP_ALLOWANCE_MS = 3000;
const STARTED = 'started the MCP server';

/** The proxy's settings come from the test alone, never from the environment it runs in. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
}

/** Pids of the servers the proxy started for `session` (`stateless` for the shared backend), in order. */
function serverPids(proxy: ProxyProcess, session?: string): number[] {
  return proxy.logs().filter((r) => r.msg === STARTED && typeof r.pid === 'number' && (session === undefined || r.session === session)).map((r) => r.pid as number);
}

function statelessEndings(proxy: ProxyProcess): LogRecord[] {
  return proxy.logs().filter((r) => r.msg === 'HTTP session ending' && r.stateless === true);
}

describe('Streamable HTTP through the CLI: a stateless backend stops after --http-stateless-linger-ms', () => {
  let proxy: ProxyProcess;
  let port: number;

  before(async () => {
    const args = [CLI, '--http', '127.0.0.1:0', '--proxy', EVERYTHING_COMMAND, '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'debug', '--http-stateless-linger-ms', String(LINGER_MS)];
    proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    const serving = await proxy.waitForLog((r) => r.msg === 'serving MCP over Streamable HTTP', 10_000);
    assert.equal(serving.statelessLingerMs, LINGER_MS);
    port = (serving.address as { port: number }).port;
  });

  after(async () => {
    const pids = serverPids(proxy);
    if (proxy.exit === undefined) {
      proxy.child.kill('SIGTERM');
      assert.deepEqual(await proxy.waitForExit(10_000), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    }
    for (const pid of pids) {
      const gone = await waitUntilGone(pid, 3000);
      if (!gone) forceKill(pid, true);
      assert.ok(gone, `server ${pid} is gone`);
      assert.deepEqual(groupPids(pid), [], `nothing is left of its process group ${pid}`);
    }
    const errors = proxy.logs().filter((r) => (r.level ?? 0) >= 50);
    assert.deepEqual(errors, [], 'no error was logged');
  });

  test('v2 client, auto mode: the probe\'s server stops within the linger; the session\'s runs on', async () => {
    const probes: number[] = [];
    const tapped: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (typeof init?.body === 'string' && init.body.includes('"server/discover"')) probes.push(response.status);
      return response;
    };
    const client = new Client({ name: 'e2e-linger', version: '1' }, { versionNegotiation: { mode: 'auto' } });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { fetch: tapped });
    await client.connect(transport);
    try {
      assert.deepEqual(probes, [200], 'the client probed once, answered by the stateless backend');
      assert.equal(client.getNegotiatedProtocolVersion()?.startsWith('2025-'), true, 'then fell back to a legacy session');
      const [probePid] = serverPids(proxy, 'stateless');
      const [sessionPid] = serverPids(proxy, transport.sessionId);
      assert.ok(probePid !== undefined && sessionPid !== undefined, 'one server for the probe, one for the session');

      assert.ok(await waitUntilGone(probePid, LINGER_MS + STOP_ALLOWANCE_MS), `the probe's server ${probePid} is gone within the linger and the stop sequence`);
      const [ending] = statelessEndings(proxy);
      assert.equal(ending?.reason, `unused for ${LINGER_MS} ms (stateless linger)`);
      const started = proxy.logs().find((r) => r.msg === 'HTTP stateless backend started')!;
      assert.ok((ending!.time as number) - (started.time as number) >= LINGER_MS - 5, 'not stopped before the linger was over');
      assert.deepEqual(groupPids(probePid), [], 'nothing is left of its process group');

      assert.ok(isAlive(sessionPid), 'the session\'s server is not stopped by the linger');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      assert.deepEqual(serverPids(proxy, transport.sessionId), [sessionPid]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  test('stateless requests within the linger share one server, which stops after the last', async () => {
    const before = serverPids(proxy, 'stateless').length;
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };
    for (const message of ['one', 'two']) {
      const response = await send(port, { body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } }, headers });
      assert.equal(response.status, 200);
      assert.deepEqual((await response.json()).result.content, [{ type: 'text', text: `Echo: ${message}` }]);
    }
    const started = serverPids(proxy, 'stateless').slice(before);
    assert.equal(started.length, 1, 'the second request reused the first one\'s server');
    assert.ok(await waitUntilGone(started[0]!, LINGER_MS + STOP_ALLOWANCE_MS), 'it is gone within the linger and the stop sequence');
    await waitForValue(() => statelessEndings(proxy).length === 2, 'its ending to be logged');
  });
});
