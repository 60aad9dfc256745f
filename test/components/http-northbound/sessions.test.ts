// Session life: the cap, DELETE, the idle timeout, a backend that ends or cannot start, the
// northbound's close, and backpressure from a slow HTTP client.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'node:net';
import type { HttpSettings } from '../../../components/config/index.js';
import { startHttpNorthbound } from '../../../components/http-northbound/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { createFakeBackend, startFakeNorthbound, TEST_SETTINGS } from '../../helpers/http-fake-backend.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { INITIALIZE, send, start } from '../../helpers/http-raw.js';
import { waitForValue } from '../../helpers/wait.js';

/** One event-loop turn: what the clock's timers set off has run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));


/** A northbound over the fake backend whose timers run on `clock`. */
async function startFakeNorthboundOn(clock: FakeClock, settings: Partial<HttpSettings>) {
  const backend = createFakeBackend();
  const northbound = await startHttpNorthbound({
    settings: { ...TEST_SETTINGS, ...settings }, maxFrameBytes: 1 << 20, logger: captureLogs('debug').logger,
    openSession: (client, info) => backend.openSession(client, info), clock,
  });
  const port = northbound.address.port;
  return {
    northbound, backend, port,
    async initialize(): Promise<string> {
      const response = await send(port, { body: INITIALIZE });
      await response.done;
      assert.equal(response.status, 200);
      return String(response.headers['mcp-session-id']);
    },
  };
}

describe('http-northbound sessions', () => {
  it('should refuse a session over the cap with 503, Retry-After and a JSON-RPC error while every session is busy, until one ends', async () => {
    const h = await startFakeNorthbound({ maxSessions: 2 });
    try {
      const first = await h.initialize();
      const second = await h.initialize();
      // Busy sessions (a request in flight) are never evicted for a new one (eviction.test.ts).
      for (const [n, id] of [first, second].entries()) {
        void send(h.port, { body: { jsonrpc: '2.0', id: 'held', method: 'never' }, headers: { 'mcp-session-id': id } }).catch(() => undefined);
        await waitForValue(() => h.backend.sessions[n]!.received.some((m) => m.id === 'held'), 'the held request');
      }
      const refused = await send(h.port, { body: INITIALIZE });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code, body.error.data.retryable], [0, -32032, 'SIDECAR_ERR_HTTP_TOO_MANY_SESSIONS', true]);
      assert.equal(h.backend.sessions.length, 2, 'no server was started for it');
      assert.equal(h.northbound.sessionCount, 2);
      // The stateless backend has slots of its own.
      const stateless = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-protocol-version': '2026-07-28' } });
      assert.equal(stateless.status, 200);
      await stateless.done;

      const deleted = await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': first } });
      assert.equal(deleted.status, 204);
      assert.deepEqual(h.backend.sessions[0]!.closes, ['the client ended the session (HTTP DELETE)']);
      assert.equal(h.northbound.sessionCount, 1);
      const gone = await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { 'mcp-session-id': first } });
      assert.equal(gone.status, 404);
      await h.initialize();
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should stop an idle session\'s server after the idle timeout, but not while a request or GET stream is open', async () => {
    const clock = new FakeClock();
    const h = await startFakeNorthboundOn(clock, { idleTimeoutMs: 150 });
    const idleTimers = (): number => clock.pending().filter((t) => t.ms === 150).length;
    try {
      const idle = await h.initialize();
      const busy = await h.initialize();
      const streaming = await h.initialize();
      const [idleBackend, busyBackend, streamBackend] = h.backend.sessions;
      const slow = start(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'never' }, headers: { 'mcp-session-id': busy } });
      const stream = await send(h.port, { headers: { 'mcp-session-id': streaming, accept: 'text/event-stream' } });
      await waitForValue(() => busyBackend!.received.some((m) => m.id === 1), 'the busy session\'s request');
      // The busy session's timer (armed when its initialize was answered) may still be pending:
      // idle timers are lazy and lapse when they find the session busy (asserted below).
      clock.advance(149);
      assert.deepEqual(idleBackend!.closes, [], 'not before the idle timeout');
      clock.advance(1);
      await waitForValue(() => idleBackend!.closes.length > 0, 'the idle session to end');
      assert.match(idleBackend!.closes[0]!, /^idle for 150 ms$/);
      clock.advance(10 * 150);
      assert.deepEqual(busyBackend!.closes, [], 'a request in flight keeps the session');
      busyBackend!.send({ jsonrpc: '2.0', id: 1, result: { slow: true } });
      assert.equal((await (await slow.response).json()).result.slow, true);
      assert.deepEqual(streamBackend!.closes, [], 'an open GET stream keeps the session');
      const afterIdle = await send(h.port, { body: { jsonrpc: '2.0', id: 2, method: 'echo' }, headers: { 'mcp-session-id': idle } });
      assert.equal(afterIdle.status, 404);
      assert.equal(idleTimers(), 1, 'the busy session waits once its request is answered');
      clock.advance(150);
      await waitForValue(() => busyBackend!.closes.length > 0, 'the busy session to end once idle');
      assert.deepEqual(streamBackend!.closes, []);
      stream.destroy();
      await waitForValue(() => idleTimers() === 1, 'the streaming session\'s idle timer once its stream closed');
      clock.advance(150);
      await waitForValue(() => streamBackend!.closes.length > 0, 'the streaming session to end once its stream closed');
      assert.equal(h.northbound.sessionCount, 0);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should measure the idle timeout from the last activity, not from when the timer was armed', async () => {
    const clock = new FakeClock();
    const h = await startFakeNorthboundOn(clock, { idleTimeoutMs: 150 });
    try {
      const session = await h.initialize();
      const [backend] = h.backend.sessions;
      clock.advance(100);
      // A notification at t=100: the session turns idle again at once, active since t=100.
      const notified = await send(h.port, { body: { jsonrpc: '2.0', method: 'notifications/ping' }, headers: { 'mcp-session-id': session } });
      assert.equal(notified.status, 202);
      clock.advance(50); // t=150: the timer armed at t=0 fires and finds 100 ms of the timeout left
      await turn();
      assert.deepEqual(backend!.closes, [], 'active at t=100: not idle for 150 ms yet');
      assert.equal(clock.pending().filter((t) => t.ms === 100).length, 1, 'one timer waits for the rest');
      clock.advance(99);
      await turn();
      assert.deepEqual(backend!.closes, []);
      clock.advance(1);
      await waitForValue(() => backend!.closes.length > 0, 'the session to end 150 ms after its last activity');
      assert.match(backend!.closes[0]!, /^idle for 150 ms$/);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should keep no more than one idle timer per session however many requests it answers', async () => {
    const clock = new FakeClock();
    const h = await startFakeNorthboundOn(clock, { idleTimeoutMs: 150 });
    try {
      const session = await h.initialize();
      const before = clock.pending().map((t) => t.due);
      for (let id = 1; id <= 20; id++) {
        clock.advance(1); // a timer re-armed now would fall due later than the one armed at t=0
        const answered = await send(h.port, { body: { jsonrpc: '2.0', id, method: 'echo' }, headers: { 'mcp-session-id': session } });
        assert.equal(answered.status, 200);
      }
      assert.deepEqual(clock.pending().map((t) => t.due), before, 'requests neither add nor re-arm timers');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should cut a stalled upload after an early answer once its lingering close runs out, on the clock', async () => {
    const clock = new FakeClock();
    const h = await startFakeNorthboundOn(clock, { maxBodyBytes: 1024 });
    try {
      const socket = connect(h.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (data) => (answer += data.toString()));
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      // Over the limit, then the client stalls: the 413 comes, and the rest is waited for, bounded.
      socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${' '.repeat(2048)}\r\n`);
      await waitForValue(() => /^HTTP\/1\.1 413 /.test(answer) && clock.pending().some((t) => t.ms === 2000), 'the 413 and the lingering close');
      assert.equal(socket.destroyed, false, 'the connection waits for the rest of the body');
      clock.advance(1999);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(socket.destroyed, false, 'not before 2 s');
      clock.advance(1);
      await closed;
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should answer what a backend that ends by itself left, and then 404', async () => {
    const h = await startFakeNorthbound();
    try {
      const id = await h.initialize();
      const waiting = send(h.port, { body: { jsonrpc: '2.0', id: 'w', method: 'never' }, headers: { 'mcp-session-id': id } });
      const session = h.backend.sessions[0]!;
      await waitForValue(() => session.received.some((m) => m.id === 'w'), 'the request');
      session.die();
      const response = await waiting;
      const body = await response.json();
      assert.equal(body.id, 'w');
      assert.equal(body.error.code, -32003);
      assert.match(body.error.message, /the HTTP session ended \(its MCP server ended\)/);
      await waitForValue(() => h.northbound.sessionCount === 0, 'the session to be forgotten');
      assert.equal((await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': id } })).status, 404);
      assert.deepEqual(session.closes, [], 'a backend that ended is not closed again');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should answer 502 when the session\'s server cannot be started, and hold no slot', async () => {
    const h = await startFakeNorthbound({ maxSessions: 1 });
    try {
      h.backend.failNextOpen('spawn ENOENT');
      const refused = await send(h.port, { body: INITIALIZE });
      assert.equal(refused.status, 502);
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.code], [0, -32037]);
      assert.match(body.error.message, /spawn ENOENT/);
      await waitForValue(() => h.northbound.sessionCount === 0, 'the slot to be free');
      await h.initialize();
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should end a session whose server refuses initialize, without giving its id', async () => {
    const h = await startFakeNorthbound();
    try {
      const response = await send(h.port, { body: { ...INITIALIZE, params: { ...INITIALIZE.params, fail: true } } });
      assert.equal(response.status, 200);
      assert.equal(response.headers['mcp-session-id'], undefined);
      assert.equal((await response.json()).error.code, -32602);
      await waitForValue(() => h.backend.sessions[0]!.closes.length > 0, 'the session to end');
      assert.equal(h.northbound.sessionCount, 0);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should queue frames while the backend starts, and deliver them in order', async () => {
    const h = await startFakeNorthbound({}, { openDelayMs: 100 });
    try {
      const id = await h.initialize();
      const answers = await Promise.all([1, 2, 3].map((n) => send(h.port, { body: { jsonrpc: '2.0', id: n, method: 'echo' }, headers: { 'mcp-session-id': id } }).then((r) => r.json())));
      assert.deepEqual(answers.map((a) => a.id), [1, 2, 3]);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should stop every backend on close, then refuse requests and close the listener', async () => {
    const h = await startFakeNorthbound();
    const id = await h.initialize();
    const stateless = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-protocol-version': '2026-07-28' } });
    await stateless.done;
    const stream = await send(h.port, { headers: { 'mcp-session-id': id, accept: 'text/event-stream' } });
    const waiting = start(h.port, { body: { jsonrpc: '2.0', id: 'w', method: 'never' }, headers: { 'mcp-session-id': id } });
    await waitForValue(() => h.backend.sessions[0]!.received.some((m) => m.id === 'w'), 'the request');
    await h.northbound.close('the proxy is stopping');
    assert.deepEqual(h.backend.sessions.map((s) => s.closes), [['the proxy is stopping'], ['the proxy is stopping']]);
    assert.equal((await (await waiting.response).json()).error.code, -32003);
    await stream.done;
    await assert.rejects(send(h.port, { body: INITIALIZE }), /ECONNREFUSED|ECONNRESET|socket hang up/);
  });

  it('should tell the pump to stop feeding a slow HTTP client, and to go on when it drains', async () => {
    const h = await startFakeNorthbound();
    try {
      const id = await h.initialize();
      const stream = await send(h.port, { headers: { 'mcp-session-id': id, accept: 'text/event-stream' } });
      stream.message.pause();
      const session = h.backend.sessions[0]!;
      const big = 'x'.repeat(256 * 1024);
      // Feed it as the pump would (nothing while congested) until the socket buffers are full.
      const deadline = Date.now() + 5000;
      for (;;) {
        assert.ok(Date.now() < deadline, 'the stream never stayed congested');
        if (session.congestion.at(-1) === 'congested') {
          await new Promise((resolve) => setTimeout(resolve, 100));
          if (session.congestion.at(-1) === 'congested') break;
          continue;
        }
        session.send({ jsonrpc: '2.0', method: 'notifications/message', params: { data: big } });
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(session.congestion.every((state, i) => state === (i % 2 === 0 ? 'congested' : 'drained')), session.congestion.join());
      const drained = session.client.drained();
      stream.message.resume();
      await waitForValue(() => session.congestion.at(-1) === 'drained', 'the stream to drain');
      await drained;
      stream.destroy();
    } finally {
      await h.northbound.close('test over');
    }
  });
});
