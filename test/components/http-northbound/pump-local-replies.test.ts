// The answers the HTTP layer gives to requests that never reach the pump, with the real pump
// behind it: each is the pump's one localReply — counted (answeredLocally) and observed (the
// request's end, for its report) — and what the HTTP client gets is what the pump wrote.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHttpNorthbound, type HttpNorthbound } from '../../../components/http-northbound/index.js';
import { createPump, type Pump, type PumpObserver, type RequestEnd } from '../../../components/pump/index.js';
import type { FrameChannel, FrameChannelHandlers } from '../../../components/transport/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { TEST_SETTINGS } from '../../helpers/http-fake-backend.js';
import { INITIALIZE, send, start } from '../../helpers/http-raw.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitForValue } from '../../helpers/wait.js';

/** The server side of the pump, in memory: answers initialize and `echo`, records the rest. */
class MemoryServer implements FrameChannel {
  handlers: FrameChannelHandlers | undefined;
  readonly received: any[] = [];
  start(handlers: FrameChannelHandlers): void {
    this.handlers = handlers;
  }
  send(line: Buffer): void {
    const message = JSON.parse(line.toString('utf8'));
    this.received.push(message);
    if (message.method === 'initialize') this.answer({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'memory', version: '1' } } });
    if (message.method === 'echo') this.answer({ jsonrpc: '2.0', id: message.id, result: { echo: true } });
  }
  answer(message: unknown): void {
    queueMicrotask(() => this.handlers?.onFrame(Buffer.from(`${JSON.stringify(message)}\n`)));
  }
  pause(): void {}
  resume(): void {}
  drained(): Promise<void> {
    return Promise.resolve();
  }
  endOutput(): void {}
  close(): void {}
}

interface Harness {
  readonly northbound: HttpNorthbound;
  readonly port: number;
  readonly clock: FakeClock;
  readonly server: MemoryServer;
  readonly ends: RequestEnd[];
  pump(): Pump;
  client(): FrameChannel;
}

async function startWithPump(options: { maxSessions?: number; requestTimeoutMs?: number } = {}): Promise<Harness> {
  const clock = new FakeClock();
  const server = new MemoryServer();
  const ends: RequestEnd[] = [];
  const observer: PumpObserver = { onFrame: () => undefined, onRequestEnd: (end) => void ends.push(end) };
  let pump: Pump | undefined;
  let client: FrameChannel | undefined;
  const logger = captureLogs('debug').logger;
  const northbound = await startHttpNorthbound({
    settings: { ...TEST_SETTINGS, maxSessions: options.maxSessions ?? TEST_SETTINGS.maxSessions }, maxFrameBytes: 1 << 20, logger, clock,
    async openSession(channel) {
      client = channel;
      const events = { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} };
      const created = createPump({ client: channel, server, logger, events, observer, clock, requestTimeoutMs: options.requestTimeoutMs });
      pump = created;
      return {
        busyUntil: () => created.busyUntil(),
        closed: new Promise<void>(() => {}),
        async close(reason) {
          created.failPending('SIDECAR_ERR_UPSTREAM_EXITED', reason);
          await created.flushClient();
          channel.close();
        },
      };
    },
  });
  return { northbound, port: northbound.address.port, clock, server, ends, pump: () => pump!, client: () => client! };
}

async function initialize(h: Harness): Promise<string> {
  const response = await send(h.port, { body: INITIALIZE });
  await response.done;
  assert.equal(response.status, 200);
  return String(response.headers['mcp-session-id']);
}

describe('http-northbound local replies, with the pump', () => {
  it('should count and observe the refusal of an id already in flight, and leave the request in flight alone', async () => {
    const h = await startWithPump();
    try {
      const sessionId = await initialize(h);
      const first = start(h.port, { body: { jsonrpc: '2.0', id: 'dup', method: 'hold' }, headers: { 'mcp-session-id': sessionId } });
      await waitForValue(() => h.server.received.some((m) => m.id === 'dup'), 'the first request');
      const answeredBefore = h.pump().stats.answeredLocally;

      const refused = await send(h.port, { body: { jsonrpc: '2.0', id: 'dup', method: 'echo' }, headers: { 'mcp-session-id': sessionId } });
      assert.equal(refused.status, 400);
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code], ['dup', -32600, 'SIDECAR_ERR_ID_IN_FLIGHT']);
      assert.equal(h.pump().stats.answeredLocally, answeredBefore + 1, 'counted once, by the pump');
      const ended = h.ends.filter((end) => end.request.method === 'echo');
      assert.deepEqual(ended.map((end) => [end.request.id, end.outcome, end.reply?.toString()]), [['"dup"', 'blocked', `${JSON.stringify(body)}\n`]], 'observed: the refused request\'s end, with the reply the client got');
      assert.equal(h.server.received.filter((m) => m.id === 'dup').length, 1, 'the refused request never reached the server');

      // The first request is still the one in flight: its own answer reaches its POST, and it ends once, answered.
      assert.equal(h.pump().pendingCount, 1);
      h.server.answer({ jsonrpc: '2.0', id: 'dup', result: { first: true } });
      assert.deepEqual(await (await first.response).json(), { jsonrpc: '2.0', id: 'dup', result: { first: true } });
      assert.deepEqual(h.ends.filter((end) => end.request.method === 'hold').map((end) => end.outcome), ['forwarded']);
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should count and observe the answer to a request still queued for the pump when the session ends', async () => {
    const h = await startWithPump();
    try {
      const sessionId = await initialize(h);
      h.client().pause(); // as the pump does while the server is congested
      const queued = start(h.port, { body: { jsonrpc: '2.0', id: 'q', method: 'echo' }, headers: { 'mcp-session-id': sessionId } });
      await waitForValue(() => h.northbound.busySessionCount === 1, 'the session to take the POST in');
      const answeredBefore = h.pump().stats.answeredLocally;
      const deleted = await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
      assert.equal(deleted.status, 204);
      const body = await (await queued.response).json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code], ['q', -32003, 'SIDECAR_ERR_UPSTREAM_EXITED']);
      assert.equal(h.pump().stats.answeredLocally, answeredBefore + 1, 'counted once, by the pump');
      assert.deepEqual(h.ends.filter((end) => end.request.method === 'echo').map((end) => [end.request.id, end.outcome]), [['"q"', 'upstream_exited']]);
      assert.ok(!h.server.received.some((m) => m.id === 'q'), 'it never reached the server');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should tell a client refused at the session cap when a busy session is surely idle: its requests\' deadline', async () => {
    const h = await startWithPump({ maxSessions: 1, requestTimeoutMs: 30_000 });
    try {
      const sessionId = await initialize(h);
      h.clock.advance(1_000);
      const held = start(h.port, { body: { jsonrpc: '2.0', id: 'h', method: 'hold' }, headers: { 'mcp-session-id': sessionId } });
      await waitForValue(() => h.server.received.some((m) => m.id === 'h'), 'the held request');
      h.clock.advance(4_500); // 25.5 s of its 30 s deadline left
      const refused = await send(h.port, { body: INITIALIZE });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '26', 'the held request\'s deadline, rounded up');
      assert.equal((await refused.json()).error.data.code, 'SIDECAR_ERR_HTTP_TOO_MANY_SESSIONS');
      h.clock.advance(25_500);
      const timedOut = await (await held.response).json();
      assert.equal(timedOut.error.data.code, 'SIDECAR_ERR_REQUEST_TIMEOUT');
      await waitForValue(() => h.northbound.busySessionCount === 0, 'the session to be idle once its request timed out');
      const served = await send(h.port, { body: INITIALIZE });
      assert.equal(served.status, 200, 'the idle session gives way to the new one');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should say 1 s at the cap when nothing bounds the busy session (no deadline)', async () => {
    const h = await startWithPump({ maxSessions: 1 });
    try {
      const sessionId = await initialize(h);
      const held = start(h.port, { body: { jsonrpc: '2.0', id: 'h', method: 'hold' }, headers: { 'mcp-session-id': sessionId } });
      await waitForValue(() => h.server.received.some((m) => m.id === 'h'), 'the held request');
      const refused = await send(h.port, { body: INITIALIZE });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      h.server.answer({ jsonrpc: '2.0', id: 'h', result: {} });
      await held.response;
    } finally {
      await h.northbound.close('test over');
    }
  });
});
