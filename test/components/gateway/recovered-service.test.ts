// A service the client's handshake left out (it failed initialize, or never answered it) joins
// once its restarted server answers the initialize its session recovery replays: the news travels
// from recovery (onRecovered) to the gateway (serviceRecovered), wired in runtime/session.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import type { StartedServer } from '../../../components/proxy-process-governor/index.js';
import { createSessionRecovery } from '../../../components/session-recovery/index.js';
import type { FrameChannel, FrameChannelHandlers } from '../../../components/transport/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { memoryChannel } from '../pump/memory-channel.js';
import { assertEnvelopesTrue, harness, initialize, INIT_PARAMS, type Json } from './gateway-harness.js';

const FS_ANSWER = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'fs', version: '1' } };
const SLOW_RESULT = { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true }, prompts: {}, logging: {} }, serverInfo: { name: 'slow', version: '1' } };

describe('gateway channel: serviceRecovered', () => {
  it('lets a left-out service join: its namespace works, the client is told to list again, initialized is left to recovery', async () => {
    const h = harness(['fs', 'slow']);
    initialize(h, { fs: FS_ANSWER, slow: 'error' });
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/initialized' });
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow.t' } });
    assert.equal(h.localReplies.at(-1)!.code, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE');
    const sentBefore = h.sentTo('slow').length;
    const toClientBefore = h.toClient.length;

    h.gateway.serviceRecovered('slow', SLOW_RESULT, ['notifications/tools/list_changed']);
    assert.deepEqual(h.clientMessages().slice(toClientBefore).map((m) => m['method']), ['notifications/prompts/list_changed'], 'tools already told by recovery; prompts by the gateway');
    assert.equal(h.sentTo('slow').length, sentBefore, 'notifications/initialized is recovery\'s to send, not sent twice');
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow.t' } });
    assert.equal(h.lastSentTo('slow')['params']['name'], 't');
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'prompts/list' });
    assert.equal(h.lastSentTo('slow')['method'], 'prompts/list', 'asked for the lists it declares');
    assertEnvelopesTrue(h.toClient);
    await new Promise((resolve) => setImmediate(resolve)); // pino writes on
    assert.ok(h.logs.entries.some((e) => e['service'] === 'slow' && /restarted server answered the client's initialize \(replayed\): it joins/.test(String(e['msg']))));
  });

  it('leaves a ready service as it is, and a down one down', () => {
    const h = harness(['fs', 'slow']);
    initialize(h, { fs: FS_ANSWER, slow: SLOW_RESULT });
    const toClientBefore = h.toClient.length;
    h.gateway.serviceRecovered('slow', SLOW_RESULT, []);
    assert.equal(h.toClient.length, toClientBefore, 'a ready service: nothing to announce');

    const down = harness(['fs', 'slow']);
    initialize(down, { fs: FS_ANSWER, slow: 'error' });
    down.gateway.serviceDown('slow', 'it exited 6 times');
    down.gateway.serviceRecovered('slow', SLOW_RESULT, []);
    down.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow.t' } });
    assert.equal(down.localReplies.at(-1)!.code, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE');
    assert.match(down.localReplies.at(-1)!.detail, /down/);
    down.gateway.serviceRecovered('nobody', SLOW_RESULT, []); // an unknown name changes nothing
  });
});

// A fake governor under session recovery under the gateway, wired as runtime/session.ts wires them.
function recoveringGateway(fanOutTimeoutMs = 1000) {
  const clock = new FakeClock();
  const logs = captureLogs('debug');
  let inner!: FrameChannelHandlers;
  const governorChannel: FrameChannel = {
    start: (handlers) => void (inner = handlers),
    send: () => {},
    pause: () => {}, resume: () => {}, drained: () => Promise.resolve(), endOutput: () => {}, close: () => {},
  };
  let gateway: ReturnType<typeof createGatewayChannel> | undefined;
  const recovery = createSessionRecovery({
    logger: logs.logger,
    onRecovered: ({ result, listChangedSent }) => gateway?.serviceRecovered('slow', result, listChangedSent),
  });
  const fs = memoryChannel();
  // What reaches the slow server: through the governor's channel while it runs, else the restarted server's send.
  const toSlow: Json[] = [];
  const slowChannel = recovery.wrap({ ...governorChannel, send: (line) => void toSlow.push(JSON.parse(line.toString()) as Json) });
  gateway = createGatewayChannel({
    services: [{ name: 'fs', channel: fs }, { name: 'slow', channel: slowChannel }],
    separator: '.', logger: logs.logger, clock, serverInfo: { name: 'g', version: '1' }, fanOutTimeoutMs,
  });
  const toClient: Json[] = [];
  const localReplies: string[] = [];
  gateway.start({
    onFrame: (line) => void toClient.push(JSON.parse(line.toString()) as Json),
    onOversized: () => {}, onEnd: () => {}, onWriteError: () => {}, onCongested: () => {}, onDrained: () => {},
    onLocalReply: (_target, code) => void localReplies.push(code),
  });
  const fromClient = (message: Json): void => {
    const bytes = Buffer.from(`${JSON.stringify(message)}\n`);
    gateway!.send(bytes);
  };
  const fromSlow = (message: Json): void => inner.onFrame(Buffer.from(`${JSON.stringify(message)}\n`));
  /** The slow server crashes and its governor starts another: recovery replays the client's initialize to it. */
  const restartSlow = (generation: number): Json[] => {
    inner.onReset!('the MCP server exited (exit code 1)', new Set());
    const sent: Json[] = [];
    const server: StartedServer = { generation, send: (line) => void sent.push(JSON.parse(line.toString()) as Json), release: () => true };
    assert.equal(recovery.onServerStart(server), true, 'the client\'s initialize is replayed');
    return sent;
  };
  return { gateway, clock, fs, toSlow, toClient, localReplies, fromClient, fromSlow, restartSlow };
}

describe('gateway over session recovery: a left-out service whose server restarts', () => {
  for (const how of ['answered initialize with an error', 'never answered initialize'] as const) {
    it(`joins when the restarted server answers the replay (it ${how})`, () => {
      const g = recoveringGateway();
      g.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT_PARAMS });
      const fsInit = JSON.parse(g.fs.sent.at(-1)!.line) as Json;
      g.fs.push(JSON.stringify({ jsonrpc: '2.0', id: fsInit['id'], result: FS_ANSWER }));
      const slowInit = g.toSlow.at(-1)!;
      assert.equal(slowInit['method'], 'initialize');
      if (how === 'answered initialize with an error') g.fromSlow({ jsonrpc: '2.0', id: slowInit['id'], error: { code: -32603, message: 'not yet' } });
      else g.clock.advance(1000);
      assert.deepEqual(g.toClient.map((m) => m['id']), [0], 'the client is answered without it');
      g.fromClient({ jsonrpc: '2.0', method: 'notifications/initialized' });
      g.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow.t' } });
      assert.deepEqual(g.localReplies, ['SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE']);

      const replayed = g.restartSlow(1);
      assert.deepEqual(replayed.map((m) => m['method']), ['initialize']);
      g.fromSlow({ jsonrpc: '2.0', id: replayed[0]!['id'], result: SLOW_RESULT });
      assert.deepEqual(replayed.map((m) => m['method']), ['initialize', 'notifications/initialized'], 'recovery sends initialized, once');
      assert.deepEqual(g.toClient.slice(1).map((m) => m['method']), ['notifications/tools/list_changed', 'notifications/prompts/list_changed']);
      assert.equal(g.toClient.filter((m) => m['id'] === 0).length, 1, 'the handshake is not answered again');

      g.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow.t' } });
      const call = g.toSlow.at(-1)!;
      assert.deepEqual([call['method'], call['params']['name']], ['tools/call', 't']);
      g.fromSlow({ jsonrpc: '2.0', id: call['id'], result: { content: [] } });
      assert.deepEqual(g.toClient.at(-1), { jsonrpc: '2.0', id: 2, result: { content: [] } });
      assert.deepEqual(g.localReplies, ['SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE'], 'nothing refused since');
    });
  }

  it('stays out when the restarted server answers the replay with an error', () => {
    const g = recoveringGateway();
    g.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT_PARAMS });
    const fsInit = JSON.parse(g.fs.sent.at(-1)!.line) as Json;
    g.fs.push(JSON.stringify({ jsonrpc: '2.0', id: fsInit['id'], result: FS_ANSWER }));
    g.fromSlow({ jsonrpc: '2.0', id: g.toSlow.at(-1)!['id'], error: { code: -32603, message: 'no' } });
    const replayed = g.restartSlow(1);
    g.fromSlow({ jsonrpc: '2.0', id: replayed[0]!['id'], error: { code: -32603, message: 'still no' } });
    assert.equal(g.toClient.length, 1, 'no list_changed');
    g.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow.t' } });
    assert.deepEqual(g.localReplies, ['SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE']);
  });
});
