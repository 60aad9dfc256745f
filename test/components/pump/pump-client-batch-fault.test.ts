// A fault in the middle of a client batch: the batch envelope has no id, so the fault boundary
// answers each of the batch's requests itself (one array, SIDECAR_ERR_INTERNAL), takes back out
// of the ledger what the batch had admitted, and ends each request once; the session goes on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rule } from '../../../components/policy/index.js';
import { createPump, type ObservedFrame, type RequestEnd } from '../../../components/pump/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';
import { memoryChannel } from './memory-channel.js';

interface Options {
  /** The observer throws on this call of onFrame (1-based), once. */
  readonly failAtFrame?: number;
  readonly rules?: Rule[];
  /** events.onDecisions throws (a fault while the batch is judged). */
  readonly failOnDecisions?: boolean;
}

function setup(options: Options = {}) {
  const client = memoryChannel(), server = memoryChannel();
  const frames: ObservedFrame[] = [];
  const ends: RequestEnd[] = [];
  let calls = 0;
  const logs = captureLogs();
  const pump = createPump({
    client, server, logger: logs.logger, clock: new FakeClock(),
    policy: options.rules === undefined ? undefined : { current: policyFromRules(options.rules) },
    events: {
      onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {},
      onDecisions: options.failOnDecisions ? () => {
        throw new Error('decision sink bug');
      } : undefined,
    },
    observer: {
      onFrame: (frame) => {
        if (++calls === options.failAtFrame) throw new Error('observer bug');
        frames.push(frame);
        return frames.length;
      },
      onRequestEnd: (end) => void ends.push(end),
    },
  });
  return { pump, client, server, frames, ends, logs };
}

type Setup = ReturnType<typeof setup>;
const ping = (id: string | number): string => `{"jsonrpc":"2.0","id":${id},"method":"ping"}`;
const NOTE = '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}';

/** The one frame written to the client: an array of errors; each member's id and catalogue code. */
function batchAnswer(s: Setup): Array<[unknown, string]> {
  assert.equal(s.client.sent.length, 1, `one answer to the client: ${JSON.stringify(s.client.sent)}`);
  const [answer] = s.client.sent;
  assert.equal(answer!.envelope?.kind, 'batch', 'written as a batch, with its envelope');
  const members = JSON.parse(answer!.line) as Array<{ id: unknown; error: { data: { code: string } } }>;
  return members.map((member) => [member.id, member.error.data.code]);
}

describe('pump: a fault in the middle of a client batch', () => {
  it('should answer every request of the batch when a member fails while admitted, and take the admitted ones back out of the ledger', () => {
    const s = setup({ failAtFrame: 2 });
    s.client.push(`[${ping(1)},${ping(2)},${ping(3)}]`);
    assert.deepEqual(batchAnswer(s), [[1, 'SIDECAR_ERR_INTERNAL'], [2, 'SIDECAR_ERR_INTERNAL'], [3, 'SIDECAR_ERR_INTERNAL']]);
    assert.equal(s.server.sent.length, 0, 'nothing forwarded');
    assert.equal(s.pump.pendingCount, 0, 'nothing left in flight');
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['1', 'upstream_error']], 'the admitted request ends once; the others were never requests in flight');
    assert.deepEqual(JSON.parse(s.ends[0]!.reply!.toString()), JSON.parse(s.client.sent[0]!.line)[0], 'it ends with its own answer');
    assert.equal(s.pump.stats.internalErrors, 1, 'one fault, nothing ended twice');
    assert.equal(s.pump.stats.answeredLocally, 1, 'one answer for the batch');
    assert.equal(s.logs.entries.filter((e) => e.level === 50).length, 1, 'logged once');
    // The session goes on, and the ids are free again.
    s.client.push(ping(1));
    assert.equal(s.server.sent.length, 1);
    assert.equal(s.server.sent[0]!.line, `${ping(1)}\n`);
  });

  it('should answer every request, and none of its notifications, when the fault comes while the batch is judged', () => {
    const observeAll: Rule = { id: 'watch', kind: 'test', mode: 'observe', direction: 'client-to-server', phase: 'request', methods: ['*'],
      evaluate: () => ({ effect: 'deny', reason: 'watched', message: 'watched', category: 'forbidden' }) };
    const s = setup({ rules: [observeAll], failOnDecisions: true });
    s.client.push(`[${ping('"a"')},${NOTE},${ping('"b"')}]`);
    assert.deepEqual(batchAnswer(s), [['a', 'SIDECAR_ERR_INTERNAL'], ['b', 'SIDECAR_ERR_INTERNAL']]);
    assert.equal(s.server.sent.length, 0);
    assert.deepEqual(s.ends, [], 'nothing was admitted, so nothing ends');
    assert.equal(s.pump.pendingCount, 0);
    assert.equal(s.pump.stats.internalErrors, 1);
  });

  it('should end each admitted request once when forwarding the batch fails', () => {
    const s = setup();
    s.server.send = () => {
      throw new Error('channel bug');
    };
    s.client.push(`[${ping(1)},${NOTE},${ping(2)}]`);
    assert.deepEqual(batchAnswer(s), [[1, 'SIDECAR_ERR_INTERNAL'], [2, 'SIDECAR_ERR_INTERNAL']]);
    assert.deepEqual(s.frames.map((f) => [f.kind, f.id]), [['request', '1'], ['notification', undefined], ['request', '2']], 'every member was admitted before the send');
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['1', 'upstream_error'], ['2', 'upstream_error']]);
    assert.equal(s.pump.pendingCount, 0);
    assert.equal(s.pump.stats.internalErrors, 1);
  });

  it('should answer a refused batch whose refusal failed before it was written, without ending a refused request twice', () => {
    // The second request reuses the first one's id: the batch is refused, and the observer fails
    // on the second refused request, after the first ended with a refusal never written.
    const s = setup({ failAtFrame: 2 });
    s.client.push(`[${ping(7)},${ping('7.0')}]`);
    assert.deepEqual(batchAnswer(s), [[7, 'SIDECAR_ERR_INTERNAL'], [7, 'SIDECAR_ERR_INTERNAL']]);
    assert.deepEqual(s.ends.map((e) => [e.request.id, e.outcome]), [['7', 'blocked']]);
    assert.equal(s.pump.stats.internalErrors, 1, 'one fault, nothing ended twice');
    assert.equal(s.pump.pendingCount, 0);
  });

  it('should write nothing for a batch of notifications whose forwarding fails, and count the fault', () => {
    const s = setup();
    s.server.send = () => {
      throw new Error('channel bug');
    };
    s.client.push(`[${NOTE},${NOTE}]`);
    assert.equal(s.client.sent.length, 0);
    assert.equal(s.pump.stats.internalErrors, 1);
    assert.equal(s.pump.stats.answeredLocally, 0);
  });
});
