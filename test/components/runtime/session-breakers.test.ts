// A circuit breaker per session, through the real startSidecar with fake server processes on a
// fake clock. Over HTTP each MCP session has its own server: one session's crashing server opens
// only that session's breaker (its requests fail fast with -32009), the other session keeps
// working, /readyz stays 200 (the pod keeps taking new callers) and the metrics count the open
// breaker; once the sessions end, no breaker is left. Over stdio the one session is the whole
// proxy: /readyz is 503 while its breaker is open.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig, type SidecarConfig } from '../../../components/config/index.js';
import { startSidecar } from '../../../components/runtime/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { INITIALIZE, messagesOf, send } from '../../helpers/http-raw.js';
import { scriptedUpstream } from '../../helpers/fake-upstream.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { nextTurn, untilTurn } from '../../helpers/wait.js';
import { sample } from '../metrics/exposition.js';

// A fake MCP server: answers every request with a result (initialize with its own), and exits
// with code 3 on `fixture/exit`, as a server that crashes on a tool call would.
function scriptedServer() {
  return scriptedUpstream({ answers: true, exitOn: (frame) => (frame.method === 'fixture/exit' ? { code: 3, signal: null } : undefined) });
}

type Server = ReturnType<typeof scriptedServer>;


const BREAKER = ['--circuit-failures', '2', '--circuit-window-ms', '60000', '--circuit-cooldown-ms', '60000'];
async function configFor(extra: string[]): Promise<SidecarConfig> {
  const loaded = await loadConfig(['--proxy', 'node server.js', '--allow', 'node', '--admin', '127.0.0.1:0', '--restart-backoff-ms', '1000', '--max-restarts', '10', ...BREAKER, ...extra], {});
  return (loaded as { config: SidecarConfig }).config;
}

async function start(extra: string[], input = new PassThrough(), output = new PassThrough()) {
  const clock = new FakeClock();
  const logs = captureLogs('info');
  const servers: Server[] = [];
  const handle = await startSidecar(await configFor(extra), { input, output }, {
    logger: logs.logger, env: process.env, clock, random: () => 0.5, version: 'test',
    spawn: () => {
      const server = scriptedServer();
      servers.push(server);
      return server.upstream;
    },
  });
  const admin = `http://127.0.0.1:${handle.addresses.admin!.port}`;
  const readyz = async () => {
    const response = await fetch(`${admin}/readyz`);
    return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
  };
  const breakerCounts = async () => {
    const body = await (await fetch(`${admin}/metrics`)).text();
    return (['closed', 'open', 'half-open'] as const).map((state) => sample(body, 'mcp_sidecar_circuit_breakers', { state }));
  };
  const stop = async (): Promise<void> => {
    const stopped = handle.stop('test over');
    for (let i = 0; i < 20; i++) {
      await nextTurn();
      clock.advance(1000);
    }
    await stopped;
  };
  return { clock, logs, servers, handle, readyz, breakerCounts, stop };
}

describe('a circuit breaker per session', () => {
  it('over HTTP: one session\'s crashing server opens only its breaker; the other session works and the pod stays ready', async () => {
    const s = await start(['--http', '127.0.0.1:0', '--warm-servers', '0']);
    const port = s.handle.addresses.http!.port;
    const post = async (session: string, body: object) => messagesOf(await send(port, { body, headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } }));
    const open = async (): Promise<{ id: string; server: Server }> => {
      const response = await send(port, { body: INITIALIZE });
      await response.done;
      assert.equal(response.status, 200);
      return { id: String(response.headers['mcp-session-id']), server: s.servers.at(-1)! };
    };
    const a = await open();
    const b = await open();
    assert.deepEqual(await s.breakerCounts(), [2, 0, 0], 'each session has a breaker of its own');

    // Session A's server crashes under two requests in a row (restarted in between).
    const [first] = await post(a.id, { jsonrpc: '2.0', id: 1, method: 'fixture/exit' });
    assert.equal(first.error.code, -32003);
    const spawnedBefore = s.servers.length;
    s.clock.advance(1000); // the governor's backoff
    await untilTurn(() => s.servers.length === spawnedBefore + 1 && s.servers.at(-1)!.received.some((f) => f.method === 'initialize'), 'session A\'s server to restart');
    await untilTurn(async () => (await s.readyz()).status === 200, 'the pod to be ready');
    const [second] = await post(a.id, { jsonrpc: '2.0', id: 2, method: 'fixture/exit' });
    assert.equal(second.error.code, -32003);
    assert.deepEqual(await s.breakerCounts(), [1, 1, 0], 'A\'s breaker opened; B\'s did not');
    const opened = s.logs.entries.filter((e) => String(e.msg).startsWith('the circuit breaker opened'));
    assert.deepEqual(opened.map((e) => e.session), [a.id], 'logged once, for session A');

    // A fails fast; B is untouched: its request reaches its server and is answered.
    const [refused] = await post(a.id, { jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.equal(refused.error.code, -32009);
    assert.equal(refused.error.data.code, 'SIDECAR_ERR_CIRCUIT_OPEN');
    const [answered] = await post(b.id, { jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.deepEqual(answered, { jsonrpc: '2.0', id: 3, result: {} });
    assert.ok(b.server.received.some((f) => f.method === 'ping'), 'B\'s request reached B\'s server');

    // One session's open breaker is not the pod's: /readyz keeps saying ready.
    s.clock.advance(2000); // past A's second backoff: its server is back
    await untilTurn(() => s.servers.at(-1)!.received.some((f) => f.method === 'initialize'), 'session A\'s server to restart again');
    assert.deepEqual(await s.readyz(), { status: 200, body: { ready: true } });

    // Ending the sessions forgets their breakers; their transitions stay counted.
    for (const session of [a, b]) await (await send(port, { method: 'DELETE', headers: { 'mcp-session-id': session.id } })).done;
    await untilTurn(async () => (await s.breakerCounts()).every((count) => count === 0), 'the ended sessions\' breakers to be forgotten');
    const body = await (await fetch(`http://127.0.0.1:${s.handle.addresses.admin!.port}/metrics`)).text();
    assert.equal(sample(body, 'mcp_sidecar_circuit_transitions_total', { to: 'open' }), 1);
    await s.stop();
  });

  it('over stdio: /readyz is 503 while the one session\'s breaker is open, and ready once it is half-open', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const s = await start([], input, output);
    const answers: Array<Record<string, any>> = [];
    let buffered = '';
    output.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      answers.push(...lines.map((line) => JSON.parse(line)));
    });
    assert.deepEqual(await s.readyz(), { status: 200, body: { ready: true } });
    let backoffMs = 1000;
    for (const id of [1, 2]) {
      const spawnedBefore = s.servers.length;
      input.write(`${JSON.stringify({ jsonrpc: '2.0', id, method: 'fixture/exit' })}\n`);
      await untilTurn(() => answers.some((answer) => answer.id === id), `the answer to ${id}`);
      assert.equal(answers.find((answer) => answer.id === id)!.error.code, -32003);
      s.clock.advance(backoffMs);
      backoffMs *= 2;
      await untilTurn(() => s.servers.length === spawnedBefore + 1, 'the server to restart');
    }
    const notReady = await s.readyz();
    assert.equal(notReady.status, 503);
    assert.match(notReady.body.reason ?? '', /^the circuit breaker is open: the MCP server kept failing; a probe may pass in \d+ ms$/);
    assert.deepEqual(await s.breakerCounts(), [0, 1, 0]);

    s.clock.advance(60_000); // the cool-down
    assert.deepEqual(await s.readyz(), { status: 200, body: { ready: true } }, 'half-open is ready, or the probe could never come');
    assert.deepEqual(await s.breakerCounts(), [0, 0, 1]);
    input.end();
    await s.stop();
  });
});
