// Deadlines of mixed lengths, on a fake clock: RequestDeadlines keeps one ordered list per source
// (the flag, or a policy rule) and one timer for the soonest head; a policy `deadline` rule sets
// a tool's deadline in place of --request-timeout-ms (also when the flag is off; 0: none), only
// under enforce (observe only logs what it would have cut off), and a reload applies to new
// requests only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PolicyMode } from '../../../components/policy/document/document.js';
import { parsePolicyText } from '../../../components/policy/document/index.js';
import { compileLoadedPolicy } from '../../../components/policy/engine/build.js';
import type { CompiledPolicy } from '../../../components/policy/index.js';
import { createRulesFromSpec } from '../../../components/policy/rules/index.js';
import { createPump, PumpRequest, type RequestEnds } from '../../../components/pump/index.js';
import { RequestDeadlines, type DeadlineSource } from '../../../components/pump/deadlines.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { memoryChannel } from './memory-channel.js';

const NO_ENDS: RequestEnds = { ended: () => {}, endedTwice: () => {} };
const request = (id: number): PumpRequest => new PumpRequest('client-to-server', String(id), String(id), 'tools/call', NO_ENDS);

function deadlines() {
  const clock = new FakeClock();
  const expired: Array<[string, number, string | undefined]> = [];
  const tracker = new RequestDeadlines(clock, (r, source) => void expired.push([r.rawId, clock.now(), source.ruleId]));
  return { clock, expired, tracker };
}

describe('RequestDeadlines with mixed values', () => {
  const long: DeadlineSource = { timeoutMs: 1000 };
  const short: DeadlineSource = { timeoutMs: 300, ruleId: 'fast' };
  const middle: DeadlineSource = { timeoutMs: 600, ruleId: 'middle' };

  it('expires requests of different timeouts in deadline order, each at its own time', () => {
    const { clock, expired, tracker } = deadlines();
    tracker.track(request(1), long); //   due 1000
    clock.advance(100);
    tracker.track(request(2), short); //  due 400: sooner than the armed timer
    tracker.track(request(3), middle); // due 700
    clock.advance(100);
    tracker.track(request(4), short); //  due 500
    assert.equal(tracker.size, 4);
    clock.advance(2000);
    assert.deepEqual(expired, [['2', 400, 'fast'], ['4', 500, 'fast'], ['3', 700, 'middle'], ['1', 1000, undefined]]);
    assert.equal(tracker.size, 0);
  });

  it('a progress reset moves a request to the end of its own list, with its own timeout', () => {
    const { clock, expired, tracker } = deadlines();
    tracker.track(request(1), short, '"t1"'); // due 300
    tracker.track(request(2), short); //         due 300
    tracker.track(request(3), long); //          due 1000
    clock.advance(250);
    tracker.progressed('"t1"'); //               due 550
    clock.advance(50);
    assert.deepEqual(expired.map(([id]) => id), ['2']);
    clock.advance(249);
    assert.deepEqual(expired.map(([id]) => id), ['2']);
    clock.advance(1);
    assert.deepEqual(expired, [['2', 300, 'fast'], ['1', 550, 'fast']]);
    tracker.progressed('"t1"'); // ended: nothing to restart
    clock.advance(1000);
    assert.deepEqual(expired.map(([id]) => id), ['2', '1', '3']);
  });

  it('forgets a request that ended, whatever its list, and then never expires it', () => {
    const { clock, expired, tracker } = deadlines();
    const first = request(1), second = request(2);
    tracker.track(first, short);
    tracker.track(second, long);
    tracker.forget(first);
    tracker.forget(first); // twice: no harm, the size stays right
    assert.equal(tracker.size, 1);
    clock.advance(5000);
    assert.deepEqual(expired.map(([id]) => id), ['2']);
  });

  it('latest() is the last deadline among every list; undefined when empty', () => {
    const { clock, tracker } = deadlines();
    assert.equal(tracker.latest(), undefined);
    tracker.track(request(1), long); // 1000
    clock.advance(500);
    tracker.track(request(2), short); // 800
    assert.equal(tracker.latest(), 1000);
    tracker.track(request(3), middle); // 1100
    assert.equal(tracker.latest(), 1100);
  });

  it('close() stops the timer: nothing expires after it', () => {
    const { clock, expired, tracker } = deadlines();
    tracker.track(request(1), short);
    tracker.close();
    clock.advance(10_000);
    assert.deepEqual(expired, []);
    assert.equal(clock.pending().length, 0);
  });
});

// --- the pump with a policy that sets deadlines

const compile = (rules: readonly unknown[], mode?: PolicyMode): CompiledPolicy =>
  compileLoadedPolicy(parsePolicyText(`${JSON.stringify({ apiVersion: 'mcp-sidecar/v1', kind: 'Policy', metadata: { name: 'd', revision: 1 }, rules })}\n`, 'p.yaml'), createRulesFromSpec, mode);

function setup(policy: CompiledPolicy, timeoutMs?: number) {
  const client = memoryChannel(), server = memoryChannel();
  const clock = new FakeClock();
  const logs = captureLogs();
  const holder = { current: policy };
  createPump({
    client, server, logger: logs.logger, clock, policy: holder, requestTimeoutMs: timeoutMs,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
  });
  const timedOutIds = () => client.sent.map((s) => JSON.parse(s.line) as Record<string, any>).filter((r) => r['error']?.code === -32008).map((r) => r['id']);
  return { client, server, clock, logs, holder, timedOutIds };
}

const call = (id: number, tool: string): string => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}"}}`;

describe('pump: a policy deadline rule', () => {
  const rules = [
    { id: 'build-unbounded', deadline: { tools: ['build'], timeoutMs: 0 } },
    { id: 'reports', deadline: { tools: ['report_*'], timeoutMs: 5000 } },
  ];

  it('sets a tool\'s deadline in place of the flag: longer, shorter, or none (0)', () => {
    const s = setup(compile([...rules, { id: 'quick-search', deadline: { tools: ['search'], timeoutMs: 200 } }]), 1000);
    s.client.push(call(1, 'report_q3')); // 5000 from the rule
    s.client.push(call(2, 'read_file')); // 1000 from the flag
    s.client.push(call(3, 'build')); //     none: the rule says 0
    s.client.push(call(4, 'search')); //    200 from the rule
    s.clock.advance(200);
    assert.deepEqual(s.timedOutIds(), [4]);
    s.clock.advance(800);
    assert.deepEqual(s.timedOutIds(), [4, 2]);
    s.clock.advance(4000);
    assert.deepEqual(s.timedOutIds(), [4, 2, 1]);
    s.clock.advance(1_000_000);
    assert.deepEqual(s.timedOutIds(), [4, 2, 1], 'build is never cut off');
    const warned = s.logs.entries.filter((r) => r['msg'] === 'a request passed its deadline: answered with an error and cancelled at the server');
    assert.deepEqual(warned.map((r) => [r['id'], r['timeoutMs'], r['ruleId']]), [['4', 200, 'quick-search'], ['2', 1000, undefined], ['1', 5000, 'reports']]);
  });

  it('bounds one tool alone when the flag is off', () => {
    const s = setup(compile(rules));
    s.client.push(call(1, 'read_file'));
    s.client.push(call(2, 'report_q3'));
    s.clock.advance(5000);
    assert.deepEqual(s.timedOutIds(), [2]);
    s.clock.advance(1_000_000);
    assert.deepEqual(s.timedOutIds(), [2]);
  });

  it('in observe mode enforces nothing: the request keeps waiting, and what would have timed out is logged', () => {
    const s = setup(compile(rules, 'observe'), 60_000);
    s.client.push(call(1, 'report_q3'));
    s.clock.advance(5000);
    assert.deepEqual(s.timedOutIds(), []);
    const would = s.logs.entries.filter((r) => r['msg'] === 'policy would time out a request: it passed the deadline of a rule in observe mode (not enforced)');
    assert.deepEqual(would.map((r) => [r['id'], r['timeoutMs'], r['ruleId']]), [['1', 5000, 'reports']]);
    s.server.push('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}');
    assert.equal(JSON.parse(s.client.sent.at(-1)!.line)['result'] !== undefined, true, 'its answer is forwarded');
    s.clock.advance(60_000);
    assert.deepEqual(s.timedOutIds(), [], 'answered: the flag\'s deadline is gone too');
  });

  it('a reload applies to new requests only', () => {
    const s = setup(compile(rules));
    s.client.push(call(1, 'report_q3')); // 5000 under the first policy
    s.holder.current = compile([{ id: 'reports', deadline: { tools: ['report_*'], timeoutMs: 100 } }]);
    s.client.push(call(2, 'report_q4')); // 100 under the new one
    s.clock.advance(100);
    assert.deepEqual(s.timedOutIds(), [2]);
    s.clock.advance(4899);
    assert.deepEqual(s.timedOutIds(), [2]);
    s.clock.advance(1);
    assert.deepEqual(s.timedOutIds(), [2, 1]);
  });
});
