// One way out for every answer the proxy writes itself (localReply): each route counts
// answeredLocally, ends the request it answers once (its report), and passes an envelope the
// channel can route by; a request ends exactly once; a batch member is judged as a lone frame.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rule, Verdict } from '../../../components/policy/index.js';
import { createPump, MAX_PENDING, PumpRequest, type InvocationOutcome, type ObservedFrame, type RequestEnd, type RequestEnds } from '../../../components/pump/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';
import { memoryChannel } from './memory-channel.js';

function setup(options: { rules?: Rule[]; maxInFlight?: number; failFirstFrame?: boolean } = {}) {
  const client = memoryChannel(), server = memoryChannel();
  const frames: ObservedFrame[] = [];
  const ends: RequestEnd[] = [];
  let failNext = options.failFirstFrame ?? false;
  const clock = new FakeClock();
  const logs = captureLogs();
  const policy = options.rules === undefined && options.maxInFlight === undefined ? undefined
    : { current: policyFromRules(options.rules ?? [], options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }) };
  const pump = createPump({
    client, server, logger: logs.logger, clock, policy,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    observer: {
      onFrame: (frame) => {
        if (failNext) {
          failNext = false;
          throw new Error('observer bug');
        }
        frames.push(frame);
        return frames.length;
      },
      onRequestEnd: (end) => void ends.push(end),
    },
  });
  return { pump, client, server, frames, ends, clock, logs };
}

type Setup = ReturnType<typeof setup>;
const ping = (id: string | number): string => `{"jsonrpc":"2.0","id":${id},"method":"ping"}`;
const deny = (reason: string): Verdict => ({ effect: 'deny', reason, message: `because ${reason}`, category: 'forbidden' });
const denyCalls: Rule = { id: 'no-calls', kind: 'test', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['tools/call'], evaluate: () => deny('tool_not_allowed') };
const oversized = (text: string) => ({ bytes: 1 << 21, head: Buffer.from(text), tail: Buffer.from(text) });

interface Route {
  readonly name: string;
  readonly options?: Parameters<typeof setup>[0];
  readonly act: (s: Setup) => void;
  /** Where the reply went and its code (of the first member for a batch). */
  readonly to: 'client' | 'server';
  readonly code: string;
  /** The requests ended by it, in order: [id, outcome]. */
  readonly ended: Array<[string, InvocationOutcome]>;
}

const ROUTES: Route[] = [
  { name: 'refusal while stopping', act: (s) => {
    s.pump.refuseNewRequests('SIDECAR_ERR_SHUTTING_DOWN', 'stopping');
    s.client.push(ping(1));
  }, to: 'client', code: 'SIDECAR_ERR_SHUTTING_DOWN', ended: [['1', 'upstream_exited']] },
  { name: 'id in flight', act: (s) => {
    s.client.push(ping(1));
    s.client.push(ping('1.0'));
  }, to: 'client', code: 'SIDECAR_ERR_ID_IN_FLIGHT', ended: [['1.0', 'blocked']] },
  { name: 'too many pending', act: (s) => {
    for (let id = 1; id <= MAX_PENDING + 1; id++) s.client.push(ping(id));
  }, to: 'client', code: 'SIDECAR_ERR_TOO_MANY_PENDING', ended: [[String(MAX_PENDING + 1), 'rate_limited']] },
  { name: 'policy denial', options: { rules: [denyCalls] }, act: (s) => s.client.push('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}'),
    to: 'client', code: 'SIDECAR_ERR_POLICY_DENIED', ended: [['1', 'blocked']] },
  { name: 'in-flight limit', options: { maxInFlight: 1, rules: [] }, act: (s) => {
    s.client.push(ping(1));
    s.client.push(ping(2));
  }, to: 'client', code: 'SIDECAR_ERR_POLICY_RATE_LIMITED', ended: [['2', 'rate_limited']] },
  { name: 'internal error', options: { failFirstFrame: true }, act: (s) => s.client.push(ping(1)), to: 'client', code: 'SIDECAR_ERR_INTERNAL', ended: [] },
  { name: 'client request too large', act: (s) => s.client.handlers.onOversized(oversized('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"x":"')),
    to: 'client', code: 'SIDECAR_ERR_FRAME_TOO_LARGE', ended: [] },
  { name: 'client response too large', act: (s) => s.client.handlers.onOversized(oversized('{"jsonrpc":"2.0","id":"s1","result":{"x":"')),
    to: 'server', code: 'SIDECAR_ERR_FRAME_TOO_LARGE', ended: [] },
  { name: 'server response too large', act: (s) => {
    s.client.push(ping(4));
    s.server.handlers.onOversized(oversized('{"jsonrpc":"2.0","id":4,"result":{"x":"'));
  }, to: 'client', code: 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', ended: [['4', 'upstream_error']] },
  { name: 'server request too large', act: (s) => s.server.handlers.onOversized(oversized('{"jsonrpc":"2.0","id":"s2","method":"sampling/createMessage","params":{"x":"')),
    to: 'server', code: 'SIDECAR_ERR_FRAME_TOO_LARGE', ended: [] },
  { name: 'invalid client frame', act: (s) => s.client.push('{"jsonrpc":"2.0","id":5,"method":'), to: 'client', code: 'SIDECAR_ERR_PARSE', ended: [] },
  { name: 'invalid client batch (one answer for the batch)', act: (s) => s.client.push(`[${ping(1)},{"jsonrpc":"2.0","id":2,"method":"ping","Method":"x"}]`),
    to: 'client', code: 'SIDECAR_ERR_AMBIGUOUS_FRAME', ended: [] },
  { name: 'unreadable server response', act: (s) => {
    s.client.push(ping(6));
    s.server.push('{"jsonrpc":"2.0","id":6,"result":{},"Result":{}}');
  }, to: 'client', code: 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME', ended: [['6', 'upstream_error']] },
  { name: 'unreadable server request', act: (s) => s.server.push('{"jsonrpc":"2.0","id":"s3","Method":"x","method":"roots/list"}'),
    to: 'server', code: 'SIDECAR_ERR_AMBIGUOUS_FRAME', ended: [] },
  { name: 'failPending', act: (s) => {
    s.client.push(ping(7));
    s.pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'gone');
  }, to: 'client', code: 'SIDECAR_ERR_UPSTREAM_EXITED', ended: [['7', 'upstream_exited']] },
  { name: 'onLocalReply for a request in the ledger', act: (s) => {
    s.client.push(ping(8));
    s.server.handlers.onLocalReply!({ id: '8', key: '8', method: 'ping' }, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'queue full');
  }, to: 'client', code: 'SIDECAR_ERR_UPSTREAM_RESTARTING', ended: [['8', 'upstream_exited']] },
  { name: 'onLocalReply for a request the pump never saw', act: (s) => {
    s.server.handlers.onLocalReply!({ id: '"h"', key: 's:h', method: 'tools/list', line: Buffer.from('{"jsonrpc":"2.0","id":"h","method":"tools/list"}\n') }, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'timed out');
  }, to: 'client', code: 'SIDECAR_ERR_UPSTREAM_RESTARTING', ended: [['"h"', 'upstream_exited']] },
];

describe('pump: every answer the proxy writes itself goes through localReply', () => {
  for (const route of ROUTES) {
    it(`should count, end once and route: ${route.name}`, () => {
      const s = setup(route.options);
      route.act(s);
      const channel = route.to === 'client' ? s.client : s.server;
      const replies = channel.sent.filter((frame) => frame.line.includes('"error"'));
      assert.equal(replies.length, 1, `one reply to the ${route.to}: ${JSON.stringify(channel.sent)}`);
      const [reply] = replies;
      const first = reply!.envelope!.kind === 'batch' ? JSON.parse(reply!.line)[0] : JSON.parse(reply!.line);
      assert.equal(first.error.data.code, route.code);
      assert.equal(s.pump.stats.answeredLocally, 1, 'counted once');
      assert.deepEqual(s.ends.map((end) => [end.request.id, end.outcome]), route.ended, 'each request it answers ends once, with its reply');
      for (const end of s.ends) assert.equal(end.reply?.toString(), reply!.line);
      if (reply!.envelope!.kind === 'error') assert.ok(reply!.line.includes(`"id":${reply!.envelope!.id},`), 'the envelope names the id as written');
      assert.equal(s.pump.stats.internalErrors, route.name === 'internal error' ? 1 : 0, 'no request ended twice');
    });
  }

  it('should settle a request in the ledger answered for a channel, so its late answer is not forwarded as one', () => {
    const s = setup();
    s.client.push(ping(8));
    s.server.handlers.onLocalReply!({ id: '8', key: '8', method: 'ping' }, 'SIDECAR_ERR_UPSTREAM_RESTARTING', 'queue full');
    assert.equal(s.pump.pendingCount, 0);
    assert.equal(s.frames.filter((f) => f.kind === 'request').length, 1, 'observed once, when it was forwarded');
  });

  it('should observe a request answered for a channel but never seen as a refused request, with its line', () => {
    const s = setup();
    const line = '{"jsonrpc":"2.0","id":"h","method":"tools/list"}\n';
    s.client.handlers.onLocalReply!({ id: '"h"', key: 's:h', method: 'tools/list', line: Buffer.from(line) }, 'SIDECAR_ERR_HTTP_BAD_REQUEST', 'refused');
    assert.deepEqual(s.frames.map((f) => [f.kind, f.method, f.id, f.action, f.line.toString()]), [['request', 'tools/list', '"h"', 'deny', line]]);
    assert.deepEqual(s.ends.map((e) => e.outcome), ['blocked']);
  });
});

describe('pump: a request ends exactly once', () => {
  it('should hand a second end to endedTwice and never to the observer', () => {
    const ended: string[] = [];
    const ends: RequestEnds = {
      ended: (_request, outcome) => void ended.push(outcome),
      endedTwice: (_request, outcome) => {
        throw new Error(`ended twice (${outcome})`);
      },
    };
    const request = new PumpRequest('client-to-server', '1', '1', 'ping', ends);
    request.end('forwarded');
    assert.equal(request.ended, true);
    assert.throws(() => request.end('upstream_exited'), /ended twice \(upstream_exited\)/);
    assert.deepEqual(ended, ['forwarded']);
  });

  it('should end a cancelled request once even when its late answer comes, and count nothing as a fault', () => {
    const s = setup();
    s.client.push('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{}}');
    s.client.push('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}');
    s.server.push('{"jsonrpc":"2.0","id":9,"result":{}}');
    s.pump.failPending('SIDECAR_ERR_UPSTREAM_EXITED', 'gone');
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['9', 'cancelled']]);
    assert.equal(s.pump.stats.internalErrors, 0);
  });

  it('should run whenIdle\'s timeout on the injected clock', async () => {
    const s = setup();
    s.client.push(ping(1));
    let idle = false;
    const waiting = s.pump.whenIdle(5000).then(() => (idle = true));
    s.clock.advance(4999);
    await Promise.resolve();
    assert.equal(idle, false);
    s.clock.advance(1);
    await waiting;
    assert.equal(idle, true);
  });
});

describe('pump: a batch member takes the route of a lone frame', () => {
  const call = (id: number, name: string): string => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}"}}`;
  const rules: Rule[] = [{ ...denyCalls, evaluate: (frame) => ((frame.body() as { params: { name: string } }).params.name === 'rm' ? deny('tool_not_allowed') : { effect: 'continue' }) }];

  it('should give a denied member the decision and the reply a lone frame of the same content gets', () => {
    const lone = setup({ rules }), batch = setup({ rules });
    lone.client.push(call(2, 'rm'));
    batch.client.push(`[${call(2, 'rm')}]`);
    const loneReply = JSON.parse(lone.client.sent[0]!.line);
    const [batchReply] = JSON.parse(batch.client.sent[0]!.line);
    assert.deepEqual(batchReply, loneReply);
    assert.deepEqual(batch.ends.map((e) => [e.request.decisions, e.outcome, e.request.line.toString().trim()]), lone.ends.map((e) => [e.request.decisions, e.outcome, e.request.line.toString().trim()]));
    assert.equal(batch.pump.stats.answeredLocally, 1);
    assert.equal(batch.pump.stats.deniedByPolicy, lone.pump.stats.deniedByPolicy);
  });

  it('should admit a passing member as a lone frame is admitted (observed with its decisions, tracked)', () => {
    const observeRules: Rule[] = [{ ...rules[0]!, mode: 'observe' }];
    const lone = setup({ rules: observeRules }), batch = setup({ rules: observeRules });
    lone.client.push(call(3, 'rm'));
    batch.client.push(`[${call(3, 'rm')}]`);
    assert.equal(batch.server.sent[0]!.line, `[${call(3, 'rm')}]\n`, 'forwarded as received');
    assert.deepEqual(batch.frames.map((f) => [f.kind, f.action, f.decisions]), lone.frames.map((f) => [f.kind, f.action, f.decisions]));
    assert.equal(batch.pump.pendingCount, lone.pump.pendingCount);
  });

  it('should count a batch\'s earlier requests as in flight for limits.maxInFlight, as if each had come alone', () => {
    const s = setup({ maxInFlight: 1, rules: [] });
    s.client.push(`[${ping(1)},${ping(2)}]`);
    const [first, second] = JSON.parse(s.client.sent[0]!.line);
    assert.deepEqual([first.error.data.reason, second.error.data.reason], ['batch_refused', 'too_many_in_flight']);
    assert.deepEqual(s.ends.map((e) => e.outcome), ['blocked', 'rate_limited']);
  });
});
