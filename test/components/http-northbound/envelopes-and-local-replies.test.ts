// What the HTTP northbound hands its pump and takes from it: each POSTed frame's envelope, read
// once and passed with the frame (also for a renumbered body: an envelope of the bytes passed);
// each frame from the pump routed by the envelope the pump passes, read here only when none
// came; and the answers it gives to requests that never reach the pump, handed to the pump's
// one localReply (onLocalReply) so they are encoded, counted and observed there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeErrorResponse, type ErrorCode } from '../../../components/errors/index.js';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { envelopeReads } from '../../../components/http-northbound/envelope-reads.js';
import { startHttpNorthbound, type HttpNorthbound } from '../../../components/http-northbound/index.js';
import type { FrameChannel, LocalReplyTarget } from '../../../components/transport/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { TEST_SETTINGS } from '../../helpers/http-fake-backend.js';
import { INITIALIZE, send, start } from '../../helpers/http-raw.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitForValue } from '../../helpers/wait.js';

interface Received {
  readonly line: Buffer;
  readonly envelope: Envelope | undefined;
}

interface LocalReply {
  readonly request: LocalReplyTarget;
  readonly code: ErrorCode;
  readonly detail: string;
}

/** A stand-in for the pump: records what it is given, answers `echo`, and answers local replies as the pump's localReply does. */
interface StandIn {
  readonly client: FrameChannel;
  readonly received: Received[];
  readonly localReplies: LocalReply[];
  /** Sends a frame to the HTTP client, with its envelope (as the pump does) or without. */
  reply(line: string, withEnvelope: boolean): void;
}

interface Harness {
  readonly northbound: HttpNorthbound;
  readonly port: number;
  readonly pumps: StandIn[];
  /** Runs the sessions' idle timers: a POST a session takes in cancels its idle timer. */
  readonly clock: FakeClock;
}

// Marks what the stand-in's localReply encoded: a body with it came from the pump, not the HTTP layer.
const ANSWERED_BY_PUMP = { answeredBy: 'pump' };

async function startWithStandIn(options: { withEnvelopes: boolean; localReplies: boolean }): Promise<Harness> {
  const pumps: StandIn[] = [];
  const clock = new FakeClock();
  const northbound = await startHttpNorthbound({
    clock,
    settings: TEST_SETTINGS,
    maxFrameBytes: 1 << 20,
    logger: captureLogs('debug').logger,
    async openSession(client) {
      const pump: StandIn = {
        client, received: [], localReplies: [],
        reply(line, withEnvelope) {
          const bytes = Buffer.from(`${line}\n`);
          client.send(bytes, withEnvelope ? readEnvelope(bytes) as Envelope : undefined);
        },
      };
      client.start({
        onFrame(line, envelope) {
          pump.received.push({ line: Buffer.from(line), envelope });
          const message = JSON.parse(line.toString('utf8'));
          for (const m of Array.isArray(message) ? message : [message]) {
            if (m.method === 'initialize') pump.reply(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'stand-in', version: '1' } } }), options.withEnvelopes);
            if (m.method === 'echo') pump.reply(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { echo: m.params ?? null } }), options.withEnvelopes);
          }
        },
        onOversized: () => {},
        onEnd: () => {},
        onWriteError: () => {},
        onCongested: () => {},
        onDrained: () => {},
        ...(options.localReplies ? {
          onLocalReply(request: LocalReplyTarget, code: ErrorCode, detail: string) {
            pump.localReplies.push({ request, code, detail });
            client.send(encodeErrorResponse(request.id, code, detail, ANSWERED_BY_PUMP), { kind: 'error', id: request.id, key: request.key, method: undefined });
          },
        } : {}),
      });
      pumps.push(pump);
      return { closed: new Promise<void>(() => {}), close: async () => client.close() };
    },
  });
  return { northbound, port: northbound.address.port, pumps, clock };
}

async function initialize(h: Harness): Promise<string> {
  const response = await send(h.port, { body: INITIALIZE });
  await response.done;
  assert.equal(response.status, 200);
  return String(response.headers['mcp-session-id']);
}

describe('http-northbound envelopes across the channel', () => {
  it('should read a POSTed request\'s envelope once on its way in, and the response\'s not at all when the pump passes it', async () => {
    const h = await startWithStandIn({ withEnvelopes: true, localReplies: true });
    try {
      const before = envelopeReads.count;
      const sessionId = await initialize(h);
      assert.equal(envelopeReads.count - before, 1, 'initialize: read once, in');
      const pump = h.pumps[0]!;
      const posted = '{"jsonrpc":"2.0","id":7.0,"method":"echo","params":{"n":1}}';
      const start = envelopeReads.count;
      const response = await send(h.port, { body: posted, headers: { 'mcp-session-id': sessionId } });
      assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: 7, result: { echo: { n: 1 } } });
      assert.equal(envelopeReads.count - start, 1, 'one read for the whole round trip');
      const received = pump.received.at(-1)!;
      assert.equal(received.line.toString(), `${posted}\n`);
      assert.deepEqual(received.envelope, readEnvelope(received.line), 'the pump is given the envelope of the bytes it gets');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should read a frame from the pump once when it comes without an envelope', async () => {
    const h = await startWithStandIn({ withEnvelopes: false, localReplies: true });
    try {
      const sessionId = await initialize(h);
      const start = envelopeReads.count;
      const response = await send(h.port, { body: { jsonrpc: '2.0', id: 'a', method: 'echo' }, headers: { 'mcp-session-id': sessionId } });
      assert.deepEqual(await response.json(), { jsonrpc: '2.0', id: 'a', result: { echo: null } });
      assert.equal(envelopeReads.count - start, 2, 'once in, once out');
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should pass a renumbered body with the envelope of its renumbered bytes, without reading them', async () => {
    const h = await startWithStandIn({ withEnvelopes: true, localReplies: true });
    const STATELESS = { 'mcp-protocol-version': '2026-07-28' };
    try {
      const held = start(h.port, { body: { jsonrpc: '2.0', id: 5, method: 'hold' }, headers: STATELESS });
      await waitForValue(() => h.pumps[0]?.received.length === 1, 'the first request');
      const pump = h.pumps[0]!;
      const beforeLone = envelopeReads.count;
      const lone = await send(h.port, { body: { jsonrpc: '2.0', id: 5, method: 'echo', params: { _meta: { progressToken: 1 } } }, headers: STATELESS });
      assert.equal((await lone.json()).id, 5, 'the client\'s id restored');
      assert.equal(envelopeReads.count - beforeLone, 1, 'read once, as the client sent it');
      const renumbered = pump.received.at(-1)!;
      assert.match(renumbered.line.toString(), /"id":"mcp-sidecar:\d+"/);
      assert.deepEqual(renumbered.envelope, readEnvelope(renumbered.line));

      const beforeBatch = envelopeReads.count;
      const batch = await send(h.port, {
        body: [{ jsonrpc: '2.0', id: 5, method: 'echo' }, { jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 6.0, result: {} }, { jsonrpc: '2.0', id: 'é', method: 'echo' }],
        headers: STATELESS,
      });
      const answers = await batch.json();
      assert.deepEqual(answers.map((a: { id: unknown }) => a.id).sort(), [5, 'é']);
      assert.equal(envelopeReads.count - beforeBatch, 1, 'read once, as the client sent it');
      const members = pump.received.at(-1)!;
      assert.deepEqual(members.envelope, readEnvelope(members.line), 'each member described at its place in the renumbered bytes');
      held.abort();
    } finally {
      await h.northbound.close('test over');
    }
  });
});

describe('http-northbound local replies go through the pump', () => {
  it('should have the pump answer an id already in flight, and write its answer as the 400\'s body', async () => {
    const h = await startWithStandIn({ withEnvelopes: true, localReplies: true });
    try {
      const sessionId = await initialize(h);
      const pump = h.pumps[0]!;
      const first = start(h.port, { body: { jsonrpc: '2.0', id: 'dup', method: 'hold' }, headers: { 'mcp-session-id': sessionId } });
      await waitForValue(() => pump.received.some((r) => r.line.includes('"dup"')), 'the first request');
      const refused = await send(h.port, { body: { jsonrpc: '2.0', id: 'dup', method: 'echo' }, headers: { 'mcp-session-id': sessionId } });
      assert.equal(refused.status, 400);
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code, body.error.data.answeredBy], ['dup', -32600, 'SIDECAR_ERR_ID_IN_FLIGHT', 'pump']);
      assert.deepEqual(pump.localReplies.map(({ request, code, detail }) => [request.id, request.key, request.method, request.line?.toString(), code, detail]), [
        ['"dup"', readEnvelope(Buffer.from('{"jsonrpc":"2.0","id":"dup","method":"x"}\n')).key, 'echo', '{"jsonrpc":"2.0","id":"dup","method":"echo"}\n', 'SIDECAR_ERR_ID_IN_FLIGHT', 'id "dup" in this session'],
      ]);
      assert.ok(!pump.received.some((r) => r.line.includes('"echo"')), 'the refused request never reached the pump');

      // A batch with a clashing id: every request in it answered by the pump, one array.
      const batch = await send(h.port, { body: [{ jsonrpc: '2.0', id: 'b1', method: 'echo' }, { jsonrpc: '2.0', id: 'dup', method: 'echo' }], headers: { 'mcp-session-id': sessionId } });
      assert.equal(batch.status, 400);
      const errors = await batch.json();
      assert.deepEqual(errors.map((e: any) => [e.id, e.error.data.code, e.error.data.answeredBy]), [['b1', 'SIDECAR_ERR_ID_IN_FLIGHT', 'pump'], ['dup', 'SIDECAR_ERR_ID_IN_FLIGHT', 'pump']]);
      assert.deepEqual(pump.localReplies.slice(1).map((r) => [r.request.id, r.request.method, r.request.line?.toString(), r.detail]), [
        ['"b1"', 'echo', '{"jsonrpc":"2.0","id":"b1","method":"echo"}', 'id "dup" in this session'],
        ['"dup"', 'echo', '{"jsonrpc":"2.0","id":"dup","method":"echo"}', 'id "dup" in this session'],
      ]);

      // The request in flight is untouched: its own answer still reaches its POST.
      pump.reply('{"jsonrpc":"2.0","id":"dup","result":{"first":true}}', true);
      assert.deepEqual(await (await first.response).json(), { jsonrpc: '2.0', id: 'dup', result: { first: true } });
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should encode the refusal itself when the backend has no onLocalReply', async () => {
    const h = await startWithStandIn({ withEnvelopes: true, localReplies: false });
    try {
      const sessionId = await initialize(h);
      const first = start(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'hold' }, headers: { 'mcp-session-id': sessionId } });
      await waitForValue(() => h.pumps[0]!.received.length === 2, 'the first request');
      const refused = await send(h.port, { body: { jsonrpc: '2.0', id: 1, method: 'echo' }, headers: { 'mcp-session-id': sessionId } });
      assert.equal(refused.status, 400);
      const body = await refused.json();
      assert.deepEqual([body.id, body.error.data.code, body.error.data.answeredBy], [1, 'SIDECAR_ERR_ID_IN_FLIGHT', undefined]);
      first.abort();
    } finally {
      await h.northbound.close('test over');
    }
  });

  it('should have the pump answer requests still queued for it when the session ends', async () => {
    const h = await startWithStandIn({ withEnvelopes: true, localReplies: true });
    try {
      const sessionId = await initialize(h);
      const pump = h.pumps[0]!;
      pump.client.pause(); // the pump's backpressure: POSTed frames wait in the session
      const queued = start(h.port, { body: { jsonrpc: '2.0', id: 'q', method: 'echo' }, headers: { 'mcp-session-id': sessionId } });
      // The session took the POST in once it is busy; paused, it keeps the frame.
      await waitForValue(() => h.northbound.busySessionCount === 1, 'the session to take the POST in');
      const deleted = await send(h.port, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
      assert.equal(deleted.status, 204);
      const body = await (await queued.response).json();
      assert.deepEqual([body.id, body.error.code, body.error.data.code, body.error.data.answeredBy], ['q', -32003, 'SIDECAR_ERR_UPSTREAM_EXITED', 'pump']);
      assert.deepEqual(pump.localReplies.map((r) => [r.request.id, r.request.method, r.request.line?.toString(), r.code, r.detail]), [
        ['"q"', 'echo', '{"jsonrpc":"2.0","id":"q","method":"echo"}\n', 'SIDECAR_ERR_UPSTREAM_EXITED', 'the HTTP session ended (the client ended the session (HTTP DELETE))'],
      ]);
      assert.equal(pump.received.length, 1, 'only initialize reached the pump');
    } finally {
      await h.northbound.close('test over');
    }
  });
});
