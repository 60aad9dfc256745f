// One reading (issue 12): every case of the corpus (test/fixtures/one-reading/corpus.json)
// through readEnvelope, then through the pump in process (in-memory streams, no policy), both
// directions; and a fault inside the pump answered with -32603 while the session goes on. The
// same cases run end to end in test/e2e/one-reading.test.ts. Known proxy bugs run as todo
// (test/fuzz/known-bugs.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readEnvelope, type EnvelopeResult } from '../../../components/framing/index.js';
import type { PumpObserver } from '../../../components/pump/index.js';
import { frameBytes, idText, loadCorpus, type CorpusCase } from '../../fuzz/corpus.js';
import { knownBug } from '../../fuzz/known-bugs.js';
import { PumpHarness } from '../../fuzz/pump-harness.js';

const cases = loadCorpus();
const line = (text: string | Buffer): Buffer => Buffer.concat([Buffer.from(text), Buffer.from('\n')]);
const parse = (b: Buffer): any => JSON.parse(b.toString('utf8'));
const idOf = (rawId: string | undefined): string => (rawId === undefined ? 'null' : idText(JSON.parse(rawId)));
const PING = '{"jsonrpc":"2.0","id":"ping-after","method":"ping"}\n';

test('the corpus covers every form issue 12 names', () => {
  const names = cases.map((c) => c.name).join('\n');
  for (const form of ['\\q', '\\u12', '[1,,2]', '{"a":}', 'control character', 'UTF-8', 'nesting 513', 'CR', 'twice', 'escape', 'Method', 'paramſ', 'Name', 'Arguments', 'path and Path',
    'lone', '2^53+1', '1e400', 'id null', '7.0 while 7', '70e-1', '-0 while 0', 'batch', 'response with id "\\q"']) {
    assert.ok(names.includes(form), `no case for ${form}`);
  }
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  for (const c of cases) {
    assert.ok(c.directions.length > 0 && (c.expect === 'forward' || c.problem !== undefined), c.name);
    if (c.expect === 'refuse' && c.directions.includes('client')) assert.ok(c.code !== undefined && c.rpcCode !== undefined && c.reason !== undefined, c.name);
  }
});

describe('one reading: the corpus through readEnvelope', () => {
  for (const c of cases) {
    test(c.name, knownBug(c.name, 'envelope'), () => {
      const result = readEnvelope(line(frameBytes(c)));
      if (c.problem === null) {
        assert.notEqual(result.kind, 'invalid', `read as ${JSON.stringify(result)}`);
        if (c.inFlight !== undefined) {
          const held = readEnvelope(line(c.inFlight));
          const keys = result.kind === 'batch' ? result.members!.map((m) => m.key) : [result.key];
          assert.ok(keys.includes(held.key), `one of ${JSON.stringify(keys)} is the key ${held.key} of the request in flight`);
        }
        return;
      }
      assert.equal(result.kind, 'invalid', `read as ${JSON.stringify(result)}`);
      const problem = result as Extract<EnvelopeResult, { kind: 'invalid' }>;
      assert.equal(problem.problem, c.problem, problem.detail);
      assert.ok(problem.detail.includes(c.reason!), `detail ${JSON.stringify(problem.detail)} names ${JSON.stringify(c.reason)}`);
      if (c.directions.includes('client')) {
        if (c.batchIds !== undefined) {
          assert.deepEqual((problem.requests ?? []).map((r) => idOf(r.id)), c.batchIds.map(idText), 'the batch\'s requests, each owed an error');
        } else {
          assert.equal(problem.key === undefined ? 'null' : idOf(problem.id), idText(c.replyId), 'the id the error echoes');
        }
      }
      if (c.server !== undefined) {
        if (c.server.toServer !== undefined) {
          // Read before the fault and answering no client request: the pump answers it to the server.
          assert.equal(problem.key !== undefined ? idOf(problem.id) : undefined, idText(c.server.toServer.id), 'the server request\'s id');
        } else if (c.server.tiedId !== null && c.frame.startsWith('[')) {
          assert.ok((problem.responses ?? []).length > 0, 'the batch names the responses it holds');
        } else if (c.server.tiedId !== null) {
          assert.equal(problem.key === undefined ? null : idOf(problem.id), idText(c.server.tiedId), 'the id of the request it answers, read before the fault');
        }
      }
    });
  }
});

/** The client's error for a refused frame: its code, id and reason. */
function assertRefusal(reply: any, c: CorpusCase, id: unknown): void {
  assert.equal(reply.jsonrpc, '2.0');
  assert.equal(idText(reply.id), idText(id), `the error's id; reply ${JSON.stringify(reply)}`);
  assert.equal(reply.error?.code, c.rpcCode, JSON.stringify(reply));
  assert.equal(reply.error?.data?.code, c.code, JSON.stringify(reply));
  assert.ok(String(reply.error?.message).includes(c.reason!), `message ${JSON.stringify(reply.error?.message)} names ${JSON.stringify(c.reason)}`);
}

/** After the case: a ping from the client comes back (the server side answers it). */
async function assertPing(h: PumpHarness): Promise<void> {
  h.writeClient(Buffer.from(PING));
  await h.settle();
  const forwarded = h.toServer.take().map((b) => b.toString());
  assert.ok(forwarded.includes(PING), `the ping reached the server: ${JSON.stringify(forwarded)}`);
  h.writeServer(Buffer.from('{"jsonrpc":"2.0","id":"ping-after","result":{}}\n'));
  await h.settle();
  assert.deepEqual(h.toClient.take().map((b) => b.toString()), ['{"jsonrpc":"2.0","id":"ping-after","result":{}}\n']);
  assert.equal(h.pump.stats.internalErrors, 0);
}

describe('one reading: the corpus through the pump, client → server', () => {
  for (const c of cases.filter((k) => k.directions.includes('client'))) {
    test(c.name, knownBug(c.name, 'pump:client'), async () => {
      const h = new PumpHarness();
      if (c.inFlight !== undefined) {
        h.writeClient(line(c.inFlight));
        await h.settle();
        assert.deepEqual(h.toServer.take().map(String), [`${c.inFlight}\n`]);
      }
      const bytes = line(frameBytes(c));
      h.writeClient(bytes);
      await h.settle();
      const toServer = h.toServer.take();
      const toClient = h.toClient.take();
      if (c.expect === 'forward') {
        assert.deepEqual(toServer, [bytes], 'forwarded byte for byte');
        assert.deepEqual(toClient, []);
        h.writeServer(Buffer.from(c.frame.startsWith('[') ? '[{"jsonrpc":"2.0","id":1,"result":{}}]\n' : `{"jsonrpc":"2.0","id":${idOf(readEnvelope(bytes).id)},"result":{}}\n`));
        await h.settle();
        h.toClient.take();
      } else {
        assert.deepEqual(toServer.map(String), [], 'never forwarded');
        assert.equal(toClient.length, 1, `one answer: ${toClient.map(String).join('')}`);
        const reply = parse(toClient[0]!);
        if (c.batchIds !== undefined) {
          assert.ok(Array.isArray(reply), `an array of errors: ${JSON.stringify(reply)}`);
          assert.deepEqual(reply.map((r: any) => idText(r.id)), c.batchIds.map(idText), 'an error per request id');
          for (const [k, r] of reply.entries()) assertRefusal(r, c, c.batchIds[k]);
        } else {
          assertRefusal(reply, c, c.replyId);
        }
        assert.ok(h.pump.stats.invalidFromClient >= 1, 'counted');
      }
      if (c.inFlight !== undefined) {
        h.writeServer(line(`{"jsonrpc":"2.0","id":${idOf(readEnvelope(line(c.inFlight)).id)},"result":{"released":true}}`));
        await h.settle();
        assert.equal(h.toClient.take().length, 1, 'the request in flight is answered');
      }
      await assertPing(h);
      assert.equal(h.pump.pendingCount, 0);
    });
  }
});

describe('one reading: the corpus through the pump, server → client', () => {
  for (const c of cases.filter((k) => k.directions.includes('server'))) {
    test(c.name, knownBug(c.name, 'pump:server'), async () => {
      const h = new PumpHarness();
      const requestId = c.server?.tiedId ?? 101;
      const request = `{"jsonrpc":"2.0","id":${JSON.stringify(requestId)},"method":"tools/call","params":{"name":"echo"}}\n`;
      h.writeClient(Buffer.from(request));
      await h.settle();
      assert.deepEqual(h.toServer.take().map(String), [request]);
      const bytes = line(frameBytes(c));
      h.writeServer(bytes);
      await h.settle();
      const toClient = h.toClient.take();
      if (c.expect === 'forward') {
        assert.deepEqual(toClient, [bytes], 'forwarded byte for byte');
      } else {
        assert.equal(h.pump.stats.invalidFromServer, 1, 'counted');
        assert.ok(h.logs.count() >= 1, 'logged');
        if (c.server!.tiedId !== null) {
          assert.equal(toClient.length, 1, `the request it answers fails at once: ${toClient.map(String).join('')}`);
          const reply = parse(toClient[0]!);
          assert.equal(idText(reply.id), idText(c.server!.tiedId));
          assert.deepEqual([reply.error?.code, reply.error?.data?.code], [-32006, 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME'], JSON.stringify(reply));
          assert.ok(String(reply.error.message).includes(c.reason!), reply.error.message);
        } else {
          assert.deepEqual(toClient.map(String), [], 'never reaches the client');
          // The request was not tied to the frame: the server's next answer settles it.
          h.writeServer(Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(requestId)},"result":{}}\n`));
          await h.settle();
          assert.equal(h.toClient.take().length, 1);
        }
        const toServer = h.toServer.take().map(parse);
        if (c.server!.toServer !== undefined) {
          assert.deepEqual(toServer.map((r) => [r.id, r.error?.data?.code]), [[c.server!.toServer.id, c.server!.toServer.code]], 'the server hears its request was refused');
        } else {
          assert.deepEqual(toServer, []);
        }
      }
      assert.equal(h.pump.pendingCount, 0, 'nothing left pending');
      await assertPing(h);
    });
  }
});

describe('one reading: a fault while handling a frame', () => {
  // An observer that throws stands in for any fault inside the pump: the frame's request is
  // answered with -32603 SIDECAR_ERR_INTERNAL, counted, and the session goes on.
  const throwing: PumpObserver = {
    onFrame(frame) {
      if (frame.method === 'fixture/boom' || (frame.phase === 'response' && frame.method === 'fixture/boom-later')) throw new Error('observer failed');
      return undefined;
    },
    onRequestEnd() {},
  };

  test('a request whose handling throws gets -32603 with its id, and the next ping works', async () => {
    const h = new PumpHarness({ observer: throwing });
    h.writeClient(Buffer.from('{"jsonrpc":"2.0","id":"b-1","method":"fixture/boom"}\n'));
    await h.settle();
    assert.deepEqual(h.toServer.take(), [], 'not forwarded');
    const [reply] = h.toClient.take().map(parse);
    assert.deepEqual([reply.id, reply.error.code, reply.error.data.code], ['b-1', -32603, 'SIDECAR_ERR_INTERNAL']);
    assert.equal(h.pump.stats.internalErrors, 1);
    assert.equal(h.pump.pendingCount, 0);
    h.writeClient(Buffer.from(PING));
    await h.settle();
    assert.deepEqual(h.toServer.take().map(String), [PING]);
  });

  test('a response whose handling throws fails its request with -32603, and the session goes on', async () => {
    const h = new PumpHarness({ observer: throwing });
    h.writeClient(Buffer.from('{"jsonrpc":"2.0","id":5,"method":"fixture/boom-later"}\n'));
    await h.settle();
    assert.equal(h.toServer.take().length, 1);
    h.writeServer(Buffer.from('{"jsonrpc":"2.0","id":5,"result":{}}\n'));
    await h.settle();
    const [reply] = h.toClient.take().map(parse);
    assert.deepEqual([reply.id, reply.error.code, reply.error.data.code], [5, -32603, 'SIDECAR_ERR_INTERNAL']);
    assert.equal(h.pump.pendingCount, 0);
    h.writeClient(Buffer.from(PING));
    await h.settle();
    assert.deepEqual(h.toServer.take().map(String), [PING]);
  });
});
