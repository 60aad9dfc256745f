// The stateless backend's linger: with nothing in flight it is stopped after `statelessLingerMs`
// (not the session idle timeout), a request within the linger reuses it, and one after starts
// another. Timers run on a fake clock, so "not before" and "after" are exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpSettings } from '../../../components/config/index.js';
import { startHttpNorthbound, type HttpNorthbound } from '../../../components/http-northbound/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { createFakeBackend, TEST_SETTINGS, type FakeBackend } from '../../helpers/http-fake-backend.js';
import { INITIALIZE, send, start } from '../../helpers/http-raw.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitForValue } from '../../helpers/wait.js';

const LINGER_MS = 5000;
const IDLE_MS = 60_000;
const STATELESS = { 'mcp-protocol-version': '2026-07-28' };

interface Harness {
  readonly northbound: HttpNorthbound;
  readonly backend: FakeBackend;
  readonly clock: FakeClock;
  readonly port: number;
  readonly logs: ReturnType<typeof captureLogs>;
  /** Pending timers of this length (a linger: LINGER_MS; a session's idle timeout: IDLE_MS). */
  timers(ms: number): number;
}

async function startLingering(settings: Partial<HttpSettings> = {}): Promise<Harness> {
  const clock = new FakeClock();
  const backend = createFakeBackend();
  const logs = captureLogs('debug');
  const northbound = await startHttpNorthbound({
    settings: { ...TEST_SETTINGS, idleTimeoutMs: IDLE_MS, statelessLingerMs: LINGER_MS, ...settings },
    maxFrameBytes: 1 << 20,
    logger: logs.logger,
    openSession: (client, info) => backend.openSession(client, info),
    clock,
  });
  return { northbound, backend, clock, port: northbound.address.port, logs, timers: (ms) => clock.pending().filter((t) => t.ms === ms).length };
}

/** One stateless request, answered: its JSON body. */
async function call(h: Harness, id: number, method = 'echo', headers: Record<string, string> = STATELESS): Promise<any> {
  const response = await send(h.port, { body: { jsonrpc: '2.0', id, method }, headers });
  assert.equal(response.status, 200);
  return response.json();
}

describe('http-northbound stateless linger', () => {
  it('should stop an unused stateless backend after the linger and not before, reusing it for a request within', async () => {
    const h = await startLingering();
    try {
      // The auto-negotiating client's probe: server/discover, no session, no version header.
      assert.equal((await call(h, 1, 'server/discover', {})).error.code, -32601);
      const probe = h.backend.sessions[0]!;
      assert.equal(probe.info.sessionId, undefined, 'the probe went to the stateless backend');
      await waitForValue(() => h.timers(LINGER_MS) === 1, 'the linger to start once the probe was answered');
      assert.equal(h.timers(IDLE_MS), 0, 'a stateless backend does not wait for the idle timeout');

      h.clock.advance(LINGER_MS - 1);
      assert.deepEqual(probe.closes, [], 'not stopped before the linger is over');
      assert.deepEqual((await call(h, 2)).result, { echo: null });
      assert.equal(h.backend.sessions.length, 1, 'a request within the linger reuses the backend');
      await waitForValue(() => h.timers(LINGER_MS) === 1, 'the linger to start again after the second answer');

      // The linger counts from the last use, not the first.
      h.clock.advance(LINGER_MS - 1);
      assert.deepEqual(probe.closes, []);
      assert.equal(h.northbound.statelessCount, 1);
      h.clock.advance(1);
      assert.deepEqual(probe.closes, [`unused for ${LINGER_MS} ms (stateless linger)`], 'stopped with the normal stop sequence');
      assert.equal(h.northbound.statelessCount, 0);
      const ending = h.logs.entries.find((e) => e.msg === 'HTTP session ending');
      assert.deepEqual([ending?.stateless, ending?.reason], [true, `unused for ${LINGER_MS} ms (stateless linger)`]);

      assert.deepEqual((await call(h, 3)).result, { echo: null });
      assert.equal(h.backend.sessions.length, 2, 'a request after the linger starts a new backend');
      assert.deepEqual(h.backend.sessions[1]!.closes, []);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should keep a stateless backend while a request is in flight, and linger from when its stream closes', async () => {
    const h = await startLingering();
    try {
      const waiting = start(h.port, { body: { jsonrpc: '2.0', id: 'w', method: 'never' }, headers: STATELESS });
      await waitForValue(() => h.backend.sessions[0]?.received.some((m) => m.id === 'w'), 'the request to reach the backend');
      const backend = h.backend.sessions[0]!;
      h.clock.advance(10 * IDLE_MS);
      assert.deepEqual(backend.closes, [], 'a request in flight keeps the backend');
      assert.equal(h.timers(LINGER_MS), 0);

      // The client closes the request's stream: a cancellation (2026-07-28), then nothing is in flight.
      waiting.abort();
      await waitForValue(() => backend.received.some((m) => m.method === 'notifications/cancelled'), 'the cancellation');
      await waitForValue(() => h.timers(LINGER_MS) === 1, 'the linger to start');
      h.clock.advance(LINGER_MS - 1);
      assert.deepEqual(backend.closes, []);
      h.clock.advance(1);
      assert.deepEqual(backend.closes, [`unused for ${LINGER_MS} ms (stateless linger)`]);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should leave sessions to the idle timeout, separate from the linger', async () => {
    const h = await startLingering();
    try {
      const initialized = await send(h.port, { body: INITIALIZE });
      const sessionId = String(initialized.headers['mcp-session-id']);
      await initialized.done;
      await call(h, 1);
      const [session, stateless] = h.backend.sessions;
      assert.deepEqual([session!.info.sessionId, stateless!.info.sessionId], [sessionId, undefined]);
      await waitForValue(() => h.timers(LINGER_MS) === 1 && h.timers(IDLE_MS) === 1, 'both timers');

      h.clock.advance(LINGER_MS);
      assert.deepEqual(stateless!.closes, [`unused for ${LINGER_MS} ms (stateless linger)`]);
      assert.deepEqual(session!.closes, [], 'the session is not stopped by the linger');
      assert.equal((await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { 'mcp-session-id': sessionId } }).then((r) => r.json())).result.echo, null);
      await waitForValue(() => h.timers(IDLE_MS) === 1, 'the idle timeout to start again');
      h.clock.advance(IDLE_MS);
      assert.deepEqual(session!.closes, [`idle for ${IDLE_MS} ms`]);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should use the idle timeout for a stateless backend when no linger is given', async () => {
    const h = await startLingering({ statelessLingerMs: undefined });
    try {
      await call(h, 1);
      await waitForValue(() => h.timers(IDLE_MS) === 1, 'the idle timeout');
      assert.equal(h.timers(LINGER_MS), 0);
      h.clock.advance(IDLE_MS);
      assert.deepEqual(h.backend.sessions[0]!.closes, [`unused for ${IDLE_MS} ms (stateless linger)`]);
    } finally {
      await h.northbound.close('test over');
    }
  });
});
