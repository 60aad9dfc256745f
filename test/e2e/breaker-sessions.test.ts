// A circuit breaker per HTTP session, end to end through the built CLI (dist/cli.js --http): one
// session's server crashes under two requests in a row and that session's breaker opens (its
// next request fails fast with -32009 and never reaches a server), while the other session's
// requests are still answered by its own server, /readyz stays 200 (one caller's failing server
// must not take the pod out of rotation) and the metrics count one open breaker of two.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { INITIALIZE, messagesOf, send } from '../helpers/http-raw.js';
import { CLI, ROOT, commandLine } from '../helpers/paths.js';
import { cleanEnv, ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sample } from '../components/metrics/exposition.js';

// Answers every request (initialize with its own result), logs each method it received, and
// exits with code 3 on fixture/exit without answering.
const FIXTURE = `
import { createInterface } from 'node:readline';
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  const { id, method, params } = JSON.parse(line);
  if (id === undefined || method === undefined) return;
  process.stderr.write('received ' + method + '\\n');
  if (method === 'fixture/exit') process.exit(3);
  const result = method === 'initialize' ? { protocolVersion: params.protocolVersion, capabilities: {}, serverInfo: { name: 'crashing-fixture', version: '1.0.0' } } : {};
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result }) + '\\n');
});
`;

describe('a circuit breaker per HTTP session, through the CLI', () => {
  const dir = tempDir('breaker-sessions');
  let proxy: ProxyProcess | undefined;
  after(() => {
    if (proxy !== undefined && proxy.exit === undefined) proxy.child.kill('SIGKILL');
  });

  test('one session\'s crashing server opens only its breaker; the other session is served and the pod stays ready', async () => {
    const script = join(dir, 'crashing-fixture.mjs');
    writeFileSync(script, FIXTURE);
    const args = [
      CLI, '--http', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--warm-servers', '0', '--proxy', commandLine([process.execPath, script]), '--allow', commandLine([process.execPath, `${dir}/`]),
      '--circuit-failures', '2', '--circuit-cooldown-ms', '60000', '--restart-backoff-ms', '100', '--max-restarts', '10', '--log-level', 'info',
    ];
    proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    const admin = (await proxy.waitForLog((r) => r.msg?.startsWith('admin endpoint listening') === true, 10_000)).address as string;
    const port = ((await proxy.waitForLog((r) => r.msg === 'serving MCP over Streamable HTTP', 10_000)).address as { port: number }).port;
    const openSession = async (): Promise<string> => {
      const response = await send(port, { body: INITIALIZE });
      assert.equal(response.status, 200);
      await response.done;
      return String(response.headers['mcp-session-id']);
    };
    const post = async (session: string, body: object) => (await messagesOf(await send(port, { body, headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } })))[0];
    const a = await openSession();
    const b = await openSession();

    for (const id of [1, 2]) {
      const answer = await post(a, { jsonrpc: '2.0', id, method: 'fixture/exit' });
      assert.deepEqual([answer.id, answer.error.code], [id, -32003], 'the server exited under the request');
    }
    const opened = await proxy.waitForLog((r) => r.msg?.startsWith('the circuit breaker opened') === true);
    assert.equal(opened.session, a, 'the breaker that opened is session A\'s');

    const received = (): number => proxy!.stderr.lines.filter((l) => l.toString().includes('received ping')).length;
    const refused = await post(a, { jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.deepEqual([refused.error.code, refused.error.data.code], [-32009, 'SIDECAR_ERR_CIRCUIT_OPEN']);
    assert.equal(received(), 0, 'A\'s ping failed fast: no server saw it');
    assert.deepEqual(await post(b, { jsonrpc: '2.0', id: 3, method: 'ping' }), { jsonrpc: '2.0', id: 3, result: {} }, 'B is served by its own server');
    await proxy.waitForLog((r) => r.source === 'server' && r.msg === 'received ping');

    const readyz = await fetch(`${admin}/readyz`);
    assert.deepEqual([readyz.status, await readyz.json()], [200, { ready: true }], 'one session\'s open breaker does not make the pod unready');
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.deepEqual(['closed', 'open', 'half-open'].map((state) => sample(metrics, 'mcp_sidecar_circuit_breakers', { state })), [1, 1, 0]);
    assert.equal(sample(metrics, 'mcp_sidecar_circuit_transitions_total', { to: 'open' }), 1);

    proxy.child.kill('SIGTERM');
    assert.deepEqual(await proxy.waitForExit(15_000), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
  });
});
