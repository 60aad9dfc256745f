import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import type { StartedServer } from '../../../components/proxy-process-governor/index.js';
import { createSessionRecovery } from '../../../components/session-recovery/index.js';
import type { FrameChannel, FrameChannelHandlers } from '../../../components/transport/index.js';
import { captureLogs } from '../../helpers/log-capture.js';

const INITIALIZE = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { roots: {} }, clientInfo: { name: 't', version: '1' } } };
const line = (message: object | string): Buffer => Buffer.from(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
const envelopeOf = (bytes: Buffer): Envelope => {
  const read = readEnvelope(bytes);
  assert.notEqual(read.kind, 'invalid');
  return read as Envelope;
};
const initializeAnswer = (id: unknown, capabilities: object) => ({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18', capabilities, serverInfo: { name: 's', version: '1' } } });

// Session recovery between a fake router (the pump's side) and a fake governor: its channel,
// and the servers it starts, each recording what it was given, in one ordered log.
function harness() {
  const logs = captureLogs('info');
  const recovery = createSessionRecovery({ logger: logs.logger });
  const toServer: Array<{ line: Buffer; envelope: Envelope | undefined }> = [];
  const toClient: Array<{ frame: Record<string, any>; envelope: Envelope | undefined }> = [];
  const resets: string[] = [];
  const order: string[] = [];
  let inner!: FrameChannelHandlers;
  const governorChannel: FrameChannel = {
    start: (handlers) => (inner = handlers),
    send: (bytes, envelope) => toServer.push({ line: bytes, envelope }),
    pause: () => {}, resume: () => {}, drained: () => Promise.resolve(), endOutput: () => {}, close: () => {},
  };
  const channel = recovery.wrap(governorChannel);
  channel.start({
    onFrame: (bytes, envelope) => toClient.push({ frame: JSON.parse(bytes.toString()), envelope }),
    onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {},
    onReset: (reason) => resets.push(reason),
    onLocalReply: () => {},
  });
  /** A server start as the governor reports it; `released` says what release() answers. */
  const start = (generation: number, released = true) => {
    const sent: Array<Record<string, any>> = [];
    let releases = 0;
    const server: StartedServer = {
      generation,
      send: (bytes) => {
        sent.push(JSON.parse(bytes.toString()));
        order.push(`send ${JSON.parse(bytes.toString()).method}`);
      },
      release: () => {
        releases++;
        order.push('release');
        return released;
      },
    };
    const held = recovery.onServerStart(server);
    return { held, sent, releases: () => releases };
  };
  const clientSends = (message: object): void => {
    const bytes = line(message);
    channel.send(bytes, envelopeOf(bytes));
  };
  const serverWrites = (message: object | string, withEnvelope = false): void => {
    const bytes = line(message);
    inner.onFrame(bytes, withEnvelope ? envelopeOf(bytes) : undefined);
  };
  const serverDies = (): void => inner.onReset!('the MCP server exited (exit code 1)', new Set());
  /** The client's session, up to a first server that answered its initialize with these capabilities. */
  const initialized = (capabilities: object) => {
    const first = start(0);
    assert.equal(first.held, false, 'nothing to replay to the first server');
    clientSends(INITIALIZE);
    serverWrites(initializeAnswer(0, capabilities));
    clientSends({ jsonrpc: '2.0', method: 'notifications/initialized' });
  };
  return { logs, toServer, toClient, resets, order, start, clientSends, serverWrites, serverDies, initialized };
}

describe('session recovery', () => {
  it('should pass the first server\'s session through untouched, the envelopes with it', () => {
    const h = harness();
    h.initialized({ tools: { listChanged: true } });
    assert.deepEqual(h.toServer.map((s) => s.envelope?.method), ['initialize', 'notifications/initialized'], 'the client\'s frames, each with its envelope');
    assert.deepEqual(h.toClient.map((c) => c.frame.id), [0]);
    assert.equal(h.toClient[0]!.envelope?.key, '0', 'the envelope read to learn the capabilities goes on with the frame');
  });

  it('should replay the client\'s initialize to a restarted server under the recovery id, and hold the client\'s frames', () => {
    const h = harness();
    h.initialized({});
    h.serverDies();
    const restarted = h.start(1);
    assert.equal(restarted.held, true);
    assert.deepEqual(restarted.sent, [{ ...INITIALIZE, id: 'mcp-sidecar:recovery:1' }]);
    assert.equal(restarted.releases(), 0, 'held until the replay is answered');
    assert.deepEqual(h.resets, ['the MCP server exited (exit code 1)'], 'the reset still reaches the router');
  });

  it('should swallow the replay\'s answer, send initialized, then release the held frames, then tell the client to re-list what was declared', () => {
    const h = harness();
    h.initialized({ tools: { listChanged: true }, prompts: { listChanged: false }, resources: { subscribe: true } });
    h.serverDies();
    const restarted = h.start(1);
    const delivered = h.toClient.length;
    h.serverWrites(initializeAnswer('mcp-sidecar:recovery:1', { tools: { listChanged: true } }));
    assert.deepEqual(h.order, ['send initialize', 'send notifications/initialized', 'release']);
    assert.equal(restarted.releases(), 1);
    assert.deepEqual(h.toClient.slice(delivered).map((c) => c.frame), [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }], 'no answer to the replay, and list_changed for tools only');
  });

  it('should tell the client to re-list every kind declared, and none when none was', () => {
    const every = harness();
    every.initialized({ tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } });
    every.serverDies();
    every.start(1);
    every.serverWrites(initializeAnswer('mcp-sidecar:recovery:1', {}));
    assert.deepEqual(every.toClient.slice(1).map((c) => c.frame.method), ['notifications/tools/list_changed', 'notifications/prompts/list_changed', 'notifications/resources/list_changed']);

    const none = harness();
    none.initialized({ tools: {}, logging: {} });
    none.serverDies();
    none.start(1);
    none.serverWrites(initializeAnswer('mcp-sidecar:recovery:1', { tools: { listChanged: true } }));
    assert.equal(none.toClient.length, 1, 'only the first initialize answer: what the first server declared counts');
  });

  it('should know the replay\'s answer by its id\'s value, however it is spelled', () => {
    const h = harness();
    h.initialized({});
    h.serverDies();
    const restarted = h.start(1);
    h.serverWrites('{"jsonrpc":"2.0","id":"\\u006dcp-sidecar:recovery:1","result":{"capabilities":{}}}', true);
    assert.equal(restarted.releases(), 1);
    assert.equal(h.toClient.length, 1);
  });

  it('should log an error answer to the replay and go on: initialized sent, frames released, the session served', async () => {
    const h = harness();
    h.initialized({ tools: { listChanged: true } });
    h.serverDies();
    const restarted = h.start(1);
    h.serverWrites({ jsonrpc: '2.0', id: 'mcp-sidecar:recovery:1', error: { code: -32602, message: 'unsupported version' } });
    assert.deepEqual(h.order, ['send initialize', 'send notifications/initialized', 'release']);
    assert.equal(restarted.releases(), 1);
    h.serverWrites({ jsonrpc: '2.0', id: 7, result: {} });
    assert.deepEqual(h.toClient.slice(1).map((c) => c.frame.method ?? c.frame.id), ['notifications/tools/list_changed', 7]);
    await new Promise((resolve) => setImmediate(resolve)); // pino writes on
    const warning = h.logs.entries.find((e) => e.msg === 'the restarted server answered the replayed initialize with an error');
    assert.deepEqual([warning?.level, warning?.generation], [40, 1]);
  });

  it('should give each restarted server its own recovery id, and forget a replay whose server died', () => {
    const h = harness();
    h.initialized({ tools: { listChanged: true } });
    h.serverDies();
    const dead = h.start(1);
    h.serverDies(); // before answering the replay
    const next = h.start(2);
    assert.equal(next.sent[0]!.id, 'mcp-sidecar:recovery:2');
    h.serverWrites(initializeAnswer('mcp-sidecar:recovery:1', {})); // not this server's replay: passed on
    assert.equal(next.releases(), 0);
    h.serverWrites(initializeAnswer('mcp-sidecar:recovery:2', {}));
    assert.deepEqual([dead.releases(), next.releases()], [0, 1]);
  });

  it('should not announce list changes when the governor cannot release (the proxy is stopping)', () => {
    const h = harness();
    h.initialized({ tools: { listChanged: true } });
    h.serverDies();
    h.start(1, false);
    h.serverWrites(initializeAnswer('mcp-sidecar:recovery:1', {}));
    assert.equal(h.toClient.length, 1);
  });

  it('should replay the latest initialize the client sent', () => {
    const h = harness();
    h.initialized({});
    const again = { ...INITIALIZE, id: 9, params: { ...INITIALIZE.params, clientInfo: { name: 'again', version: '2' } } };
    h.clientSends(again);
    h.serverDies();
    assert.deepEqual(h.start(1).sent[0], { ...again, id: 'mcp-sidecar:recovery:1' });
  });
});
