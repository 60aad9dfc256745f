// Request deadlines (--request-timeout-ms) and the circuit breaker in the pump, on a fake clock:
// a request past its deadline is answered with SIDECAR_ERR_REQUEST_TIMEOUT through the one local
// reply (ended once, `timeout`), cancelled at the server under the id the server saw, and its
// late answer dropped; progress may restart a deadline; server failures open the breaker, which
// then fails requests fast until its probe succeeds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../../components/circuit-breaker/index.js';
import { createPump, type RequestEnd } from '../../../components/pump/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { memoryChannel } from './memory-channel.js';

interface Options {
  readonly timeoutMs?: number;
  readonly resetsOnProgress?: boolean;
  readonly breaker?: { failures: number; windowMs: number; cooldownMs: number };
}

function setup(options: Options = {}) {
  const client = memoryChannel(), server = memoryChannel();
  const clock = new FakeClock();
  const logs = captureLogs();
  const ends: RequestEnd[] = [];
  const breaker = options.breaker === undefined ? undefined : new CircuitBreaker(clock, options.breaker);
  const pump = createPump({
    client, server, logger: logs.logger, clock, breaker,
    requestTimeoutMs: options.timeoutMs, requestTimeoutResetsOnProgress: options.resetsOnProgress,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    observer: { onFrame: () => 1, onRequestEnd: (end) => void ends.push(end) },
  });
  const toClient = () => client.sent.map((s) => JSON.parse(s.line) as Record<string, any>);
  const toServer = () => server.sent.map((s) => JSON.parse(s.line) as Record<string, any>);
  return { pump, client, server, clock, logs, ends, breaker, toClient, toServer };
}

const call = (id: string | number, extra = ''): string => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"slow"${extra}}}`;
const result = (id: string | number): string => `{"jsonrpc":"2.0","id":${id},"result":{"content":[]}}`;

describe('pump: request deadlines', () => {
  it('should answer a request past its deadline with -32008, cancel it at the server under its id as written, and end it once as timeout', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(call('"a-1"'));
    s.client.push(call('1.50'));
    s.clock.advance(999);
    assert.equal(s.client.sent.length, 0);
    s.clock.advance(1);
    const replies = s.toClient();
    assert.deepEqual(replies.map((r) => r['id']), ['a-1', 1.5]);
    assert.ok(s.client.sent[1]!.line.startsWith('{"jsonrpc":"2.0","id":1.50,'), 'the id echoed byte for byte');
    for (const reply of replies) {
      assert.equal(reply['error'].code, -32008);
      assert.deepEqual(reply['error'].data, { category: 'transient_error', code: 'SIDECAR_ERR_REQUEST_TIMEOUT', retryable: true, timeoutMs: 1000 });
    }
    const cancels = s.server.sent.slice(2);
    assert.deepEqual(cancels.map((c) => c.line.slice(0, c.line.indexOf(',"reason"'))), [
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a-1"',
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1.50',
    ]);
    assert.match(JSON.parse(cancels[0]!.line).params.reason, /deadline \(1000 ms\)/);
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['"a-1"', 'timeout'], ['1.50', 'timeout']]);
    assert.equal(s.pump.pendingCount, 0);
    assert.equal(s.pump.stats.timedOut, 2);
    assert.equal(s.pump.stats.answeredLocally, 2);
  });

  it('should drop the late answer of a timed-out request', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(call(7));
    s.clock.advance(1000);
    s.server.push(result(7));
    assert.equal(s.client.sent.length, 1, 'only the timeout error');
    assert.equal(s.pump.stats.lateAnswersDropped, 1);
    assert.equal(s.ends.length, 1);
    assert.equal(s.pump.stats.internalErrors, 0);
  });

  it('should drop a late answer inside a server batch and forward the rest of it', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(call(7));
    s.clock.advance(1000);
    s.client.push(call(8));
    s.server.push(`[${result(7)},${result(8)}]`);
    const batch = s.toClient()[1];
    assert.deepEqual(batch, [JSON.parse(result(8))]);
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['7', 'timeout'], ['8', 'forwarded']]);
  });

  it('should keep forwarding the late answer of a request the client cancelled', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(call(9));
    s.client.push('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}');
    s.server.push(result(9));
    assert.deepEqual(s.toClient(), [JSON.parse(result(9))]);
    s.clock.advance(5000);
    assert.equal(s.client.sent.length, 1, 'no timeout for a request that already ended');
    assert.deepEqual(s.ends.map((e) => e.outcome), ['cancelled']);
  });

  it('should time nothing out once answered, and expire requests in the order of their deadlines', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(call(1));
    s.clock.advance(300);
    s.client.push(call(2));
    s.clock.advance(200);
    s.client.push(call(3));
    s.server.push(result(1));
    s.clock.advance(799);
    assert.equal(s.client.sent.length, 1, 'the answer to 1 only: 2 is due at 1300');
    s.clock.advance(1);
    assert.deepEqual(s.toClient().map((r) => [r['id'], r['error']?.code]), [[1, undefined], [2, -32008]]);
    s.clock.advance(200);
    assert.deepEqual(s.toClient().map((r) => r['id']), [1, 2, 3]);
  });

  it('should time out each request of a client batch on its own', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(`[${call(1)},${call(2)}]`);
    s.server.push(result(2));
    s.clock.advance(1000);
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['2', 'forwarded'], ['1', 'timeout']]);
  });

  it('should not cancel an initialize at the server (MCP forbids it), yet answer it', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push('{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}');
    s.clock.advance(1000);
    assert.equal(s.toClient()[0]!['error'].code, -32008);
    assert.equal(s.server.sent.length, 1, 'only the initialize itself');
  });

  it('should restart a deadline on the server\'s progress for that request, with --request-timeout-resets-on-progress', () => {
    const s = setup({ timeoutMs: 1000, resetsOnProgress: true });
    s.client.push(call(1, ',"_meta":{"progressToken":"p1"}'));
    s.client.push(call(2, ',"_meta":{"progressToken":2}'));
    s.clock.advance(800);
    s.server.push('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":1}}');
    s.server.push('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"2","progress":1}}');
    s.clock.advance(200);
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['2', 'timeout']], 'the string token "2" is not the number 2');
    s.clock.advance(799);
    assert.equal(s.ends.length, 1, 'progress at 800 moved 1\'s deadline to 1800');
    s.clock.advance(1);
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['2', 'timeout'], ['1', 'timeout']]);
  });

  it('should not restart a deadline on progress without the option', () => {
    const s = setup({ timeoutMs: 1000 });
    s.client.push(call(1, ',"_meta":{"progressToken":"p1"}'));
    s.clock.advance(800);
    s.server.push('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":1}}');
    s.clock.advance(200);
    assert.deepEqual(s.ends.map((e) => e.outcome), ['timeout']);
  });

  it('should arm no timer without a deadline, and leave none behind when the session fails what is pending', () => {
    const off = setup();
    off.client.push(call(1));
    assert.equal(off.clock.timers.length, 0);
    const on = setup({ timeoutMs: 1000 });
    on.client.push(call(1));
    assert.equal(on.clock.pending().length, 1);
    on.pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'the proxy stopped the server');
    assert.equal(on.clock.pending().length, 0);
    assert.deepEqual(on.ends.map((e) => e.outcome), ['upstream_exited']);
  });
});

describe('pump: circuit breaker', () => {
  const breaker = { failures: 2, windowMs: 10_000, cooldownMs: 5000 };
  const crash = (s: ReturnType<typeof setup>): void => s.server.handlers.onReset!('the MCP server exited on its own (exit code 1)', new Set());

  it('should fail requests fast once the server failed n times, then let one probe through and close on its answer', () => {
    const s = setup({ breaker });
    s.client.push(call(1));
    s.client.push(call(2));
    crash(s);
    assert.equal(s.breaker!.state, 'closed', 'one crash is one failure, however many requests it took');
    s.client.push(call(3));
    crash(s);
    assert.equal(s.breaker!.state, 'open');
    const forwarded = s.server.sent.length;
    s.clock.advance(1000);
    s.client.push(call(4));
    assert.equal(s.server.sent.length, forwarded, 'not forwarded');
    const refused = s.toClient().at(-1)!;
    assert.equal(refused['id'], 4);
    assert.equal(refused['error'].code, -32009);
    assert.deepEqual(refused['error'].data, { category: 'transient_error', code: 'SIDECAR_ERR_CIRCUIT_OPEN', retryable: true, retryAfterMs: 4000 });
    assert.equal(s.ends.at(-1)!.outcome, 'upstream_exited');

    s.clock.advance(4000);
    s.client.push(call(5));
    s.client.push(call(6));
    assert.equal(s.server.sent.length, forwarded + 1, 'one probe');
    assert.equal(s.toClient().at(-1)!['error'].data.retryAfterMs, 5000);
    s.server.push(result(5));
    assert.equal(s.breaker!.state, 'closed');
    s.client.push(call(7));
    assert.equal(s.server.sent.length, forwarded + 2);
    assert.equal(s.pump.stats.refusedByBreaker, 2);
  });

  it('should count deadlines that pass as failures, and an error answer as the server being up', () => {
    const s = setup({ timeoutMs: 1000, breaker });
    s.client.push(call(1));
    s.server.push('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"tool failed"}}');
    s.client.push(call(2));
    s.clock.advance(1000);
    s.client.push(call(3));
    s.server.push('{"jsonrpc":"2.0","id":3,"error":{"code":-32000,"message":"tool failed"}}');
    s.client.push(call(4));
    s.clock.advance(1000);
    assert.equal(s.breaker!.state, 'closed', 'the error answer between the timeouts broke the run');
    s.client.push(call(5));
    s.clock.advance(1000);
    assert.equal(s.breaker!.state, 'open');
  });

  it('should reopen when the probe fails, and hand the probe on when it is cancelled', () => {
    const s = setup({ breaker });
    for (const id of [1, 2]) {
      s.client.push(call(id));
      crash(s);
    }
    s.clock.advance(5000);
    s.client.push(call(3));
    s.client.push('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}');
    assert.equal(s.breaker!.state, 'half-open');
    s.client.push(call(4));
    assert.equal(s.toServer().filter((f) => f['id'] === 4).length, 1, 'the next request probes');
    crash(s);
    assert.equal(s.breaker!.state, 'open');
  });

  it('should refuse a whole client batch while open, each request with its own error', () => {
    const s = setup({ breaker });
    for (const id of [1, 2]) {
      s.client.push(call(id));
      crash(s);
    }
    s.client.push(`[${call(3)},${call(4)}]`);
    const batch = s.toClient().at(-1) as unknown as Array<Record<string, any>>;
    assert.deepEqual(batch.map((r) => [r['id'], r['error'].code]), [[3, -32009], [4, -32009]]);
  });

  it('should count a request the restart queue gives up on as a failure', () => {
    const s = setup({ breaker });
    for (const id of [1, 2]) {
      s.client.push(call(id));
      s.server.handlers.onLocalReply!({ id: String(id), key: String(id) }, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'the restart queue is full');
    }
    assert.equal(s.breaker!.state, 'open');
    assert.deepEqual(s.ends.map((e) => e.outcome), ['upstream_exited', 'upstream_exited']);
  });
});
