// Per-service guards (components/gateway/service-guards.ts): a service's request deadline and its
// circuit breaker, on a fake clock, between a fake service channel and recording gateway handlers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../../components/circuit-breaker/index.js';
import type { Envelope } from '../../../components/framing/index.js';
import { guardServiceChannel, needsServiceGuards } from '../../../components/gateway/index.js';
import type { FrameChannel, FrameChannelHandlers, LocalReplyTarget } from '../../../components/transport/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';

/** A service channel that records what it is sent and lets the test speak for the service. */
function fakeService() {
  const sent: string[] = [];
  let handlers: FrameChannelHandlers | undefined;
  const channel: FrameChannel = {
    start: (h) => void (handlers = h),
    send: (line) => void sent.push(line.toString()),
    pause() {}, resume() {}, drained: async () => {}, endOutput() {}, close() {},
  };
  return { channel, sent, get handlers() { return handlers!; } };
}

interface Setup { timeoutMs?: number; breaker?: CircuitBreaker; withLocalReply?: boolean; resetsOnProgress?: boolean }

function setup({ timeoutMs = 1000, breaker, withLocalReply = true, resetsOnProgress = false }: Setup = {}) {
  const clock = new FakeClock();
  const service = fakeService();
  const guarded = guardServiceChannel({ name: 'fs', channel: service.channel, clock, logger: captureLogs().logger, requestTimeoutMs: timeoutMs, breaker, resetsOnProgress });
  const frames: string[] = [];
  const replies: Array<{ target: LocalReplyTarget; code: string; detail: string }> = [];
  const resets: string[] = [];
  guarded.start({
    onFrame: (line) => void frames.push(line.toString()),
    onOversized() {}, onEnd() {}, onWriteError() {}, onCongested() {}, onDrained() {},
    onReset: (reason) => void resets.push(reason),
    ...(withLocalReply && { onLocalReply: (target: LocalReplyTarget, code: string, detail: string) => void replies.push({ target, code, detail }) }),
  } as FrameChannelHandlers);
  /** The gateway sends a request under its id, with its envelope, as channel.ts does. */
  const request = (id: number, method = 'tools/call', params = '{"name":"read_file"}'): void => {
    const envelope: Envelope = { kind: 'request', id: String(id), key: String(id), method };
    guarded.send(Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${params}}\n`), envelope);
  };
  const answer = (id: number): void => service.handlers.onFrame(Buffer.from(`{"jsonrpc":"2.0","id":${id},"result":{}}\n`));
  return { clock, service, guarded, frames, replies, resets, request, answer };
}

describe('the per-service deadline', () => {
  it('should answer a request past the service\'s deadline with -32008 (through onLocalReply), cancel it at the service and drop its late answer', () => {
    const s = setup({ timeoutMs: 1000 });
    s.request(5);
    s.clock.advance(999);
    assert.deepEqual(s.replies, []);
    s.clock.advance(1);
    assert.equal(s.replies.length, 1);
    assert.equal(s.replies[0]!.code, 'SIDECAR_ERR_REQUEST_TIMEOUT');
    assert.deepEqual([s.replies[0]!.target.id, s.replies[0]!.target.key], ['5', '5']);
    const cancel = JSON.parse(s.service.sent.at(-1)!) as { method: string; params: { requestId: number } };
    assert.deepEqual([cancel.method, cancel.params.requestId], ['notifications/cancelled', 5]);
    s.answer(5);
    assert.deepEqual(s.frames, [], 'the late answer is dropped');
    assert.equal(s.guarded.inFlight, 0);
  });

  it('should let an answer in time through and keep one timer for the soonest deadline, none once nothing is in flight', () => {
    const s = setup({ timeoutMs: 1000 });
    s.request(1);
    s.clock.advance(500);
    s.request(2);
    s.request(3);
    assert.equal(s.clock.pending().length, 1, 'one timer');
    s.answer(1);
    assert.equal(s.frames.length, 1);
    s.clock.advance(500); // the timer wakes for 1 (answered), waits for 2 and 3
    assert.deepEqual(s.replies, []);
    assert.equal(s.clock.pending().length, 1);
    s.answer(2);
    s.answer(3);
    assert.equal(s.clock.pending().length, 0, 'no timer outlives the requests');
    assert.equal(s.frames.length, 3);
  });

  it('should write the error frame itself, as if from the service, when the router takes no local replies', () => {
    const s = setup({ timeoutMs: 100, withLocalReply: false });
    s.request(9);
    s.clock.advance(100);
    const error = JSON.parse(s.frames[0]!) as { id: number; error: { code: number; data: { timeoutMs: number; code: string } } };
    assert.deepEqual([error.id, error.error.code, error.error.data.code, error.error.data.timeoutMs], [9, -32008, 'SIDECAR_ERR_REQUEST_TIMEOUT', 100]);
  });

  it('should neither time nor refuse initialize (the gateway\'s fan-out timeout bounds it)', () => {
    const breaker = new CircuitBreaker(new FakeClock(), { failures: 1, windowMs: 1000, cooldownMs: 1000 });
    breaker.recordFailure();
    const s = setup({ timeoutMs: 100, breaker });
    s.request(1, 'initialize', '{}');
    s.clock.advance(1000);
    assert.deepEqual(s.replies, []);
    assert.equal(s.service.sent.length, 1, 'sent to the service');
  });

  it('should forget a request the gateway cancelled (no timeout, no failure later)', () => {
    const s = setup({ timeoutMs: 100 });
    s.request(4);
    s.guarded.send(Buffer.from('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4,"reason":"x"}}\n'), { kind: 'notification', id: undefined, key: undefined, method: 'notifications/cancelled' });
    s.clock.advance(1000);
    assert.deepEqual(s.replies, []);
    assert.equal(s.guarded.inFlight, 0);
  });

  it('should start a deadline again on the service\'s progress for it (with resets on progress)', () => {
    const s = setup({ timeoutMs: 100, resetsOnProgress: true });
    s.request(6, 'tools/call', '{"name":"slow","_meta":{"progressToken":"t6"}}');
    s.clock.advance(90);
    s.service.handlers.onFrame(Buffer.from('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t6","progress":1}}\n'));
    s.clock.advance(90);
    assert.deepEqual(s.replies, [], 'the progress moved the deadline');
    s.clock.advance(10);
    assert.equal(s.replies[0]?.code, 'SIDECAR_ERR_REQUEST_TIMEOUT');
  });

  it('should be left out when there is neither a deadline nor a breaker', () => {
    assert.equal(needsServiceGuards(0, undefined), false);
    assert.equal(needsServiceGuards(0, new CircuitBreaker(new FakeClock(), { failures: 0, windowMs: 1, cooldownMs: 1 })), false);
    assert.equal(needsServiceGuards(5, undefined), true);
  });
});

describe('the per-service circuit breaker', () => {
  it('should open after consecutive timeouts, refuse new requests with -32009 without sending them, and close on the probe\'s answer', () => {
    const clock = new FakeClock();
    // The breaker and the guard on one clock.
    const breaker = new CircuitBreaker(clock, { failures: 2, windowMs: 60_000, cooldownMs: 5000 });
    const t = (() => {
      const service = fakeService();
      const replies: Array<{ key: string; code: string }> = [];
      const frames: string[] = [];
      const guarded = guardServiceChannel({ name: 'fs', channel: service.channel, clock, logger: captureLogs().logger, requestTimeoutMs: 100, breaker });
      guarded.start({
        onFrame: (line) => void frames.push(line.toString()), onOversized() {}, onEnd() {}, onWriteError() {}, onCongested() {}, onDrained() {},
        onLocalReply: (target, code) => void replies.push({ key: target.key, code }),
      });
      const send = (id: number) => guarded.send(Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{}}\n`), { kind: 'request', id: String(id), key: String(id), method: 'tools/call' });
      return { service, replies, frames, send };
    })();
    t.send(1);
    t.send(2);
    clock.advance(100);
    assert.equal(breaker.state, 'open');
    const sentBefore = t.service.sent.length;
    t.send(3);
    assert.deepEqual(t.replies.at(-1), { key: '3', code: 'SIDECAR_ERR_CIRCUIT_OPEN' });
    assert.equal(t.service.sent.length, sentBefore, 'not forwarded');
    clock.advance(5000);
    t.send(4); // the probe
    assert.equal(t.service.sent.length, sentBefore + 1);
    t.send(5);
    assert.deepEqual(t.replies.at(-1), { key: '5', code: 'SIDECAR_ERR_CIRCUIT_OPEN' }, 'one probe at a time');
    t.service.handlers.onFrame(Buffer.from('{"jsonrpc":"2.0","id":4,"error":{"code":-1,"message":"no"}}\n'));
    assert.equal(breaker.state, 'closed', 'any answer is a success');
  });

  it('should count requests lost to a restart as failures, but not those the restart queue still holds, and pass the reset on', () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker(clock, { failures: 2, windowMs: 60_000, cooldownMs: 5000 });
    const service = fakeService();
    const resets: string[] = [];
    const guarded = guardServiceChannel({ name: 'fs', channel: service.channel, clock, logger: captureLogs().logger, requestTimeoutMs: 0, breaker });
    guarded.start({ onFrame() {}, onOversized() {}, onEnd() {}, onWriteError() {}, onCongested() {}, onDrained() {}, onReset: (reason) => void resets.push(reason), onLocalReply() {} });
    for (const id of [1, 2]) guarded.send(Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"tools/call"}\n`), { kind: 'request', id: String(id), key: String(id), method: 'tools/call' });
    service.handlers.onReset!('exited', new Set(['2']));
    assert.deepEqual(resets, ['exited']);
    assert.equal(breaker.state, 'closed', 'one failure of two');
    assert.equal(guarded.inFlight, 1, 'the held one is still in flight');
    service.handlers.onLocalReply!({ id: '2', key: '2' }, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'the queue gave up');
    assert.equal(breaker.state, 'open', 'the queue giving up is the second failure');
    assert.equal(clock.pending().length, 0, 'no deadline timer without a timeout');
  });

  it('should stop its deadlines when the service is down', () => {
    const s = setup({ timeoutMs: 100 });
    s.request(1);
    s.guarded.serviceDown();
    s.clock.advance(1000);
    assert.deepEqual(s.replies, []);
    assert.equal(s.clock.pending().length, 0);
  });
});
