// The pump's side of "one reading": ids keyed by value and never two in flight, frames that
// peers could read differently refused in both directions, batches checked member by member,
// and a fault while handling one frame answered without ending the session.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Rule } from '../../../components/policy/index.js';
import { createPump, internalErrorCount, MAX_PENDING, type PumpObserver } from '../../../components/pump/index.js';
import { createNdjsonChannel } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { policyFromRules } from '../../helpers/test-policy.js';

function setup(options: { rules?: Rule[]; observer?: PumpObserver } = {}) {
  const clientIn = new PassThrough(), clientOut = new PassThrough(), serverStdout = new PassThrough(), serverStdin = new PassThrough();
  const logs = captureLogs();
  const pump = createPump({
    client: createNdjsonChannel(clientIn, clientOut, { maxFrameBytes: 1 << 20 }),
    server: createNdjsonChannel(serverStdout, serverStdin, { maxFrameBytes: 1 << 20 }),
    logger: logs.logger,
    events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
    policy: options.rules === undefined ? undefined : { current: policyFromRules(options.rules) },
    observer: options.observer,
  });
  let toServer = '', toClient = '';
  serverStdin.on('data', (chunk: Buffer) => (toServer += chunk));
  clientOut.on('data', (chunk: Buffer) => (toClient += chunk));
  return { pump, clientIn, serverStdout, logs, toServer: () => toServer, toClient: () => toClient };
}

const lines = (text: string): any[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const ping = (id: string | number): string => `{"jsonrpc":"2.0","id":${id},"method":"ping"}\n`;
const passAll: Rule = { id: 'all', kind: 'test', mode: 'enforce', direction: 'server-to-client', phase: 'response', methods: ['*'], evaluate: () => ({ effect: 'continue' }) };

describe('pump: one request per id value', () => {
  it('should refuse a request whose id is in flight, by value (7, 7.0, 70e-1), and keep the first one\'s answer for it', async () => {
    const s = setup();
    s.clientIn.write(ping(7) + ping('7.0') + ping('70e-1') + '{"jsonrpc":"2.0","id":"7","method":"ping"}\n');
    await tick();
    assert.equal(s.toServer(), ping(7) + '{"jsonrpc":"2.0","id":"7","method":"ping"}\n', 'the string "7" is another id; the aliases of 7 are not forwarded');
    const refused = lines(s.toClient());
    assert.deepEqual(refused.map((r) => [r.id, r.error.code, r.error.data.code]), [[7, -32600, 'SIDECAR_ERR_ID_IN_FLIGHT'], [7, -32600, 'SIDECAR_ERR_ID_IN_FLIGHT']]);
    assert.equal(s.pump.pendingCount, 2);
    s.serverStdout.write('{"jsonrpc":"2.0","id":7,"result":{"first":true}}\n');
    await tick();
    assert.deepEqual(lines(s.toClient()).at(-1), { jsonrpc: '2.0', id: 7, result: { first: true } });
    // Answered: the id is free again.
    s.clientIn.write(ping('-0') + ping(0));
    await tick();
    assert.ok(s.toServer().endsWith(ping('-0')), '-0 forwarded as written');
    assert.equal(lines(s.toClient()).at(-1).error.data.code, 'SIDECAR_ERR_ID_IN_FLIGHT', '0 is -0');
  });

  it('should refuse ids beyond ±2^53 and requests with id null, and forward neither', async () => {
    const s = setup();
    s.clientIn.write(ping('9007199254740993') + ping('-9007199254740993') + ping('1e400') + ping('null') + ping(1));
    await tick();
    assert.equal(s.toServer(), ping(1));
    const replies = lines(s.toClient());
    assert.deepEqual(replies.map((r) => [r.id, r.error.data.code]), [
      [null, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [null, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [null, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [null, 'SIDECAR_ERR_INVALID_REQUEST'],
    ]);
    assert.match(replies[0].error.message, /beyond ±2\^53/);
  });

  it('should refuse a server request whose id is already in flight to the client, answering the server', async () => {
    const s = setup();
    const sampling = '{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}\n';
    s.serverStdout.write(sampling + sampling);
    await tick();
    assert.equal(s.toClient(), sampling);
    assert.deepEqual(lines(s.toServer()).map((r) => [r.id, r.error.data.code]), [['s1', 'SIDECAR_ERR_ID_IN_FLIGHT']]);
  });
});

describe('pump: frames with more than one reading', () => {
  it('should refuse each from the client with its reason, forward none, and go on', async () => {
    const s = setup();
    const frames = [
      '{"jsonrpc":"2.0","id":1,"method":"ping"}\r{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_file"}}\n',
      '{"jsonrpc":"2.0","id":3,"Method":"tools/call","method":"ping"}\n',
      '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_file","Name":"delete_file"}}\n',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x","name":"y"}}\n',
      '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"x","arguments":{"path":"/a","Path":"/etc"}}}\n',
      '{"jsonrpc":"2.0","id":"\\q","method":"ping"}\n',
      '{"jsonrpc":"2.0","id":8,"method":"ping","params":{"s":"\\ud800"}}\n',
    ];
    s.clientIn.write(frames.join('') + ping(9));
    await tick();
    assert.equal(s.toServer(), ping(9));
    const replies = lines(s.toClient());
    assert.deepEqual(replies.map((r) => [r.id, r.error.data.code]), [
      [1, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [3, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [4, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [5, 'SIDECAR_ERR_AMBIGUOUS_FRAME'],
      [6, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [null, 'SIDECAR_ERR_PARSE'], [8, 'SIDECAR_ERR_AMBIGUOUS_FRAME'],
    ]);
    assert.match(replies[0].error.message, /carriage return/);
    assert.match(replies[1].error.message, /"Method" is "method"/);
    assert.match(replies[4].error.message, /"path" and "Path" differ only in case/);
  });

  it('should drop an ambiguous response from the server and fail the request it answers at once', async () => {
    const s = setup();
    s.clientIn.write(ping(1) + ping(2));
    await tick();
    s.serverStdout.write('{"jsonrpc":"2.0","id":1,"result":{},"Result":{"x":1}}\n{"jsonrpc":"2.0","id":2,"result":{"s":"\\q"}}\n');
    await tick();
    const replies = lines(s.toClient());
    assert.deepEqual(replies.map((r) => [r.id, r.error.code, r.error.data.code]), [[1, -32006, 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME'], [2, -32006, 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME']]);
    assert.equal(s.pump.pendingCount, 0);
    assert.equal(s.pump.stats.invalidFromServer, 2);
  });

  it('should refuse a batch whole when one member is refused, answering each request in it', async () => {
    const s = setup();
    s.clientIn.write(`[${ping(1).trim()},{"jsonrpc":"2.0","id":2,"method":"tools/call","paramſ":{}}]\n`);
    s.clientIn.write(`[${ping(3).trim()},${ping('3.0').trim()}]\n`);
    await tick();
    assert.equal(s.toServer(), '');
    const [first, second] = s.toClient().split('\n').filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(first.map((r: any) => [r.id, r.error.data.code]), [[1, 'SIDECAR_ERR_AMBIGUOUS_FRAME'], [2, 'SIDECAR_ERR_AMBIGUOUS_FRAME']], 'every request in it is answered');
    assert.deepEqual(second.map((r: any) => [r.id, r.error.data.code]), [[3, 'SIDECAR_ERR_ID_IN_FLIGHT'], [3, 'SIDECAR_ERR_ID_IN_FLIGHT']]);
    assert.equal(s.pump.pendingCount, 0);
  });

  it('should forward a good batch as its original bytes and judge each member under a policy', async () => {
    const seen: string[] = [];
    const rule: Rule = { id: 'look', kind: 'test', mode: 'enforce', direction: 'client-to-server', phase: 'request', methods: ['*'], evaluate: (frame) => {
      seen.push(frame.line.toString());
      return { effect: 'continue' };
    } };
    const s = setup({ rules: [rule, passAll] });
    const batch = `[ ${ping(1).trim()} , ${ping(2).trim()} ]\n`;
    s.clientIn.write(batch);
    await tick();
    assert.equal(s.toServer(), batch);
    assert.deepEqual(seen, [ping(1).trim(), ping(2).trim()], 'each rule saw the member\'s own bytes, as forwarded');
  });
});

describe('pump: a fault boundary per frame', () => {
  it('should answer a frame whose handling throws with -32603, count it, and go on', async () => {
    let fail = true;
    const observer: PumpObserver = {
      onFrame: () => {
        if (fail) {
          fail = false;
          throw new Error('observer bug');
        }
        return undefined;
      },
      onRequestEnd: () => undefined,
    };
    const before = internalErrorCount();
    const s = setup({ observer });
    s.clientIn.write(ping(1) + ping(2));
    await tick();
    assert.deepEqual(lines(s.toClient()).map((r) => [r.id, r.error?.code, r.error?.data.code]), [[1, -32603, 'SIDECAR_ERR_INTERNAL']]);
    assert.equal(s.toServer(), ping(2), 'the next frame passes');
    assert.equal(s.pump.stats.internalErrors, 1);
    assert.equal(internalErrorCount(), before + 1);
    assert.equal(s.logs.entries.filter((e) => e.msg?.startsWith('internal error while handling a frame')).length, 1, 'logged once');
    s.serverStdout.write('{"jsonrpc":"2.0","id":2,"result":{}}\n');
    await tick();
    assert.deepEqual(lines(s.toClient()).at(-1), { jsonrpc: '2.0', id: 2, result: {} });
  });
});

describe('pump: what a peer that never answers can make it hold', () => {
  it(`should refuse the client's request past ${MAX_PENDING} unanswered, with a retryable error, and forward the rest`, async () => {
    const s = setup();
    let frames = '';
    for (let id = 1; id <= MAX_PENDING + 1; id++) frames += ping(id);
    s.clientIn.write(frames);
    await tick();
    assert.equal(s.pump.pendingCount, MAX_PENDING);
    const [refused] = lines(s.toClient());
    assert.deepEqual([refused.id, refused.error.code, refused.error.data.code, refused.error.data.retryable], [MAX_PENDING + 1, -32007, 'SIDECAR_ERR_TOO_MANY_PENDING', true]);
    assert.equal(s.toServer().split('\n').length - 1, MAX_PENDING);
  });

  it(`should refuse the server's request past ${MAX_PENDING} unanswered by the client, answering the server`, async () => {
    const s = setup();
    let frames = '';
    for (let id = 1; id <= MAX_PENDING + 1; id++) frames += `{"jsonrpc":"2.0","id":"s${id}","method":"sampling/createMessage","params":{}}\n`;
    s.serverStdout.write(frames);
    await tick();
    assert.equal(s.toClient().split('\n').length - 1, MAX_PENDING);
    const [refused] = lines(s.toServer());
    assert.deepEqual([refused.id, refused.error.data.code], [`s${MAX_PENDING + 1}`, 'SIDECAR_ERR_TOO_MANY_PENDING']);
    // The client answers one: the next request passes again.
    s.clientIn.write('{"jsonrpc":"2.0","id":"s1","result":{}}\n');
    s.serverStdout.write('{"jsonrpc":"2.0","id":"s-next","method":"sampling/createMessage","params":{}}\n');
    await tick();
    assert.ok(s.toClient().endsWith('{"jsonrpc":"2.0","id":"s-next","method":"sampling/createMessage","params":{}}\n'));
  });
});

describe('pump: every refused request is observed (its report)', () => {
  it('should end each request of a batch refused for a reused id, with outcome blocked', async () => {
    const ends: Array<[unknown, string]> = [];
    const observer: PumpObserver = {
      onFrame: () => undefined,
      onRequestEnd: (end) => {
        ends.push([end.request.id, end.outcome]);
        return undefined;
      },
    };
    const s = setup({ observer });
    s.clientIn.write(`[${ping(1).trim()},${ping('1.0').trim()}]\n`);
    await tick();
    assert.equal(s.toServer(), '');
    assert.deepEqual(ends, [['1', 'blocked'], ['1.0', 'blocked']]);
  });
});
