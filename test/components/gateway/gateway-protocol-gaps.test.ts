import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import { createPump, type RequestEnd } from '../../../components/pump/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { memoryChannel } from '../pump/memory-channel.js';
import { assertEnvelopesTrue, harness, INIT_PARAMS, type Json } from './gateway-harness.js';

const METHOD_NOT_FOUND = { code: -32601, message: 'Method not found' };

function answer(h: ReturnType<typeof harness>, service: string, id: unknown, body: Json): void {
  h.service(service).push(JSON.stringify({ jsonrpc: '2.0', id, ...body }));
}

describe('gateway channel: server/discover that no service speaks', () => {
  it('should pass on -32601 when every service answered -32601, so a v2 client falls back to initialize', () => {
    const h = harness(['fs', 'web', 'db']);
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} });
    for (const name of ['fs', 'web', 'db']) answer(h, name, h.lastSentTo(name)['id'], { error: METHOD_NOT_FOUND });
    assert.deepEqual(h.localReplies.map((r) => [r.id, r.code]), [['1', 'SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED']]);
    assert.match(h.localReplies[0]!.detail, /server\/discover/);
    // Nobody is left out: discover is not the handshake, initialize comes next.
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'db.query' } });
    assert.equal(h.sentTo('db').at(-1)!['method'], 'tools/call');
  });

  it('should answer -32040 when one service answered otherwise or not at all', () => {
    const other = harness(['fs', 'web']);
    other.fromClient({ jsonrpc: '2.0', id: 1, method: 'server/discover' });
    answer(other, 'fs', other.lastSentTo('fs')['id'], { error: METHOD_NOT_FOUND });
    answer(other, 'web', other.lastSentTo('web')['id'], { error: { code: -32603, message: 'boom' } });
    assert.deepEqual(other.localReplies.map((r) => r.code), ['SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE']);

    const silent = harness(['fs', 'web'], 1000);
    silent.fromClient({ jsonrpc: '2.0', id: 1, method: 'server/discover' });
    answer(silent, 'fs', silent.lastSentTo('fs')['id'], { error: METHOD_NOT_FOUND });
    silent.clock.advance(1000);
    assert.deepEqual(silent.localReplies.map((r) => r.code), ['SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE']);
  });

  it('should still answer from the merge when one service speaks it', () => {
    const h = harness(['fs', 'web']);
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'server/discover' });
    answer(h, 'fs', h.lastSentTo('fs')['id'], { error: METHOD_NOT_FOUND });
    answer(h, 'web', h.lastSentTo('web')['id'], { result: { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, serverInfo: { name: 'web', version: '1' } } });
    assert.equal(h.localReplies.length, 0);
    assert.deepEqual(h.clientMessages()[0]!['result']['supportedVersions'], ['2026-07-28']);
  });

  it('should pass on -32601 for logging/setLevel when every service answered -32601', () => {
    const h = harness();
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'info' } });
    for (const name of ['fs', 'web']) answer(h, name, h.lastSentTo(name)['id'], { error: METHOD_NOT_FOUND });
    assert.deepEqual(h.localReplies.map((r) => r.code), ['SIDECAR_ERR_GATEWAY_METHOD_NOT_ROUTED']);
  });
});

/** The one frame the client got for a batch: an array, by member id. */
function batchAnswer(h: ReturnType<typeof harness>): Map<unknown, Json> {
  assert.equal(h.toClient.length, 1, `one frame: ${h.toClient.map((f) => f.line).join('')}`);
  const [frame] = h.toClient;
  const members = JSON.parse(frame!.line) as Json[];
  assert.ok(Array.isArray(members), frame!.line);
  const envelope = frame!.envelope!;
  assert.equal(envelope.kind, 'batch');
  // Each member's envelope names its bytes (the pump routes each member by it).
  const read = readEnvelope(Buffer.from(frame!.line)) as Envelope;
  assert.deepEqual(envelope.members!.map((m) => [m.kind, m.key]), read.members!.map((m) => [m.kind, m.key]));
  for (const member of envelope.members!) assert.deepEqual(JSON.parse(member.bytes.toString('utf8')), members.find((m) => String(m['id']) === member.id || JSON.stringify(m['id']) === member.id));
  return new Map(members.map((m) => [m['id'], m]));
}

describe('gateway channel: client batches (2025-03-26)', () => {
  it('should answer a batch with one array of its requests\' answers, each routed to its service', () => {
    const h = harness();
    h.fromClient([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fs.read', arguments: {} } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } },
      { jsonrpc: '2.0', id: 'two', method: 'tools/call', params: { name: 'web.fetch', arguments: {} } },
      { jsonrpc: '2.0', id: 3, method: 'ping' },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'nowhere.x' } },
    ]);
    const fsCall = h.sentTo('fs').find((m) => m['method'] === 'tools/call')!;
    const webCall = h.sentTo('web').find((m) => m['method'] === 'tools/call')!;
    assert.equal(fsCall['params']['name'], 'read');
    assert.equal(webCall['params']['name'], 'fetch');
    assert.ok(h.sentTo('fs').some((m) => m['method'] === 'notifications/progress'), 'the notification is routed as a lone one');
    assert.equal(h.toClient.length, 0, 'nothing before every request is answered');
    assert.equal(h.localReplies.length, 0, 'a member\'s error goes into the array, not alone');
    answer(h, 'web', webCall['id'], { result: { from: 'web' } });
    assert.equal(h.toClient.length, 0);
    answer(h, 'fs', fsCall['id'], { result: { from: 'fs' } });
    const answers = batchAnswer(h);
    assert.deepEqual([...answers.keys()].sort(), [1, 3, 4, 'two'].sort());
    assert.deepEqual(answers.get(1)!['result'], { from: 'fs' });
    assert.deepEqual(answers.get('two')!['result'], { from: 'web' });
    assert.deepEqual(answers.get(3)!['result'], {});
    assert.equal(answers.get(4)!['error']['code'], -32602);
    assert.equal(answers.get(4)!['error']['data']['code'], 'SIDECAR_ERR_GATEWAY_NO_ROUTE');
  });

  it('should answer a batch answered at once (no service asked) at once, and a batch without requests not at all', () => {
    const h = harness();
    h.fromClient([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { taskId: 't' } }]);
    const answers = batchAnswer(h);
    assert.equal(answers.get(2)!['error']['code'], -32601);
    const quiet = harness();
    quiet.fromClient([{ jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }]);
    assert.equal(quiet.toClient.length, 0);
    assert.equal(quiet.sentTo('fs').length, 2);
  });

  it('should put a merged list and a failed service\'s error in the array, and leave a cancelled member out', () => {
    const h = harness();
    h.fromClient([
      { jsonrpc: '2.0', id: 'list', method: 'tools/list' },
      { jsonrpc: '2.0', id: 'gone', method: 'tools/call', params: { name: 'fs.a' } },
      { jsonrpc: '2.0', id: 'cancelled', method: 'tools/call', params: { name: 'web.slow' } },
    ]);
    const fsList = h.sentTo('fs').find((m) => m['method'] === 'tools/list')!;
    const webList = h.sentTo('web').find((m) => m['method'] === 'tools/list')!;
    answer(h, 'fs', fsList['id'], { result: { tools: [{ name: 'a' }] } });
    answer(h, 'web', webList['id'], { result: { tools: [{ name: 'slow' }] } });
    h.service('fs').handlers.onReset!('the MCP server exited (code 1)', new Set());
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'cancelled' } });
    const answers = batchAnswer(h);
    assert.deepEqual([...answers.keys()].sort(), ['gone', 'list']);
    assert.deepEqual(answers.get('list')!['result']['tools'].map((t: Json) => t['name']), ['fs.a', 'web.slow']);
    assert.equal(answers.get('gone')!['error']['data']['code'], 'SIDECAR_ERR_UPSTREAM_EXITED');
    assertEnvelopesTrue(h.toClient);
  });

  it('should write nothing when every request of a batch is cancelled', () => {
    const h = harness();
    h.fromClient([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fs.a' } }]);
    const gatewayId = h.lastSentTo('fs')['id'];
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
    answer(h, 'fs', gatewayId, { result: {} });
    assert.equal(h.toClient.length, 0);
  });

  it('should keep a lone request answered alone', () => {
    const h = harness();
    h.fromClient([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual(h.toClient.map((f) => f.line), ['[{"jsonrpc":"2.0","id":1,"result":{}}]\n', '{"jsonrpc":"2.0","id":2,"result":{}}\n']);
  });
});

describe('gateway channel: a service that answers initialize late', () => {
  const FS_ANSWER = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'fs', version: '1' } };
  const SLOW_ANSWER = { protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true }, resources: {} }, serverInfo: { name: 'slow', version: '1' } };

  function initializeWithoutSlow(h: ReturnType<typeof harness>): number {
    h.fromClient({ jsonrpc: '2.0', id: 0, method: 'initialize', params: INIT_PARAMS });
    const slowId = h.lastSentTo('slow')['id'] as number;
    answer(h, 'fs', h.lastSentTo('fs')['id'], { result: FS_ANSWER });
    h.clock.advance(1000);
    assert.deepEqual(h.clientMessages()[0]!['result']['capabilities'], { tools: {} });
    return slowId;
  }

  it('should let it join: its namespace works, the client is told to list again for the kinds it declares, nothing re-announced', () => {
    const h = harness(['fs', 'slow'], 1000);
    const slowId = initializeWithoutSlow(h);
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(h.sentTo('slow').length, 1, 'a left-out service is not sent notifications/initialized');
    h.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow.t' } });
    assert.equal(h.localReplies.at(-1)!.code, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE');
    answer(h, 'slow', slowId, { result: SLOW_ANSWER });
    assert.deepEqual(h.clientMessages().slice(1).map((m) => m['method']), ['notifications/tools/list_changed', 'notifications/resources/list_changed']);
    assert.equal(h.clientMessages().filter((m) => m['id'] === 0).length, 1, 'the handshake is not answered again');
    assert.equal(h.lastSentTo('slow')['method'], 'notifications/initialized', 'it is told the client initialized');
    assert.ok(h.logs.entries.some((e) => e['service'] === 'slow' && /joins late/.test(String(e['msg']))));
    h.fromClient({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow.t' } });
    const call = h.lastSentTo('slow');
    assert.equal(call['params']['name'], 't');
    answer(h, 'slow', call['id'], { result: { ok: true } });
    assert.deepEqual(h.clientMessages().at(-1), { jsonrpc: '2.0', id: 2, result: { ok: true } });
    h.fromClient({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    assert.equal(h.lastSentTo('slow')['method'], 'tools/list', 'it is asked to list');
    assertEnvelopesTrue(h.toClient);
  });

  it('should not send notifications/initialized before the client did, and not let an error answer join', () => {
    const h = harness(['fs', 'slow'], 1000);
    const slowId = initializeWithoutSlow(h);
    answer(h, 'slow', slowId, { result: { capabilities: {} } });
    assert.equal(h.sentTo('slow').length, 1, 'only the initialize');
    assert.equal(h.toClient.length, 1, 'no list it declares: nothing to tell the client');
    h.fromClient({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(h.lastSentTo('slow')['method'], 'notifications/initialized', 'a joined service gets the client\'s own');

    const failed = harness(['fs', 'slow'], 1000);
    const failedId = initializeWithoutSlow(failed);
    answer(failed, 'slow', failedId, { error: { code: -32603, message: 'no' } });
    failed.fromClient({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow.t' } });
    assert.equal(failed.localReplies.at(-1)!.code, 'SIDECAR_ERR_GATEWAY_SERVICE_UNAVAILABLE');
  });

  it('should not let the answer to an initialize the client replaced, nor one of a down service, join', () => {
    const h = harness(['fs', 'slow'], 1000);
    const firstId = initializeWithoutSlow(h);
    h.fromClient({ jsonrpc: '2.0', id: 5, method: 'initialize', params: INIT_PARAMS });
    const secondId = h.lastSentTo('slow')['id'];
    answer(h, 'fs', h.lastSentTo('fs')['id'], { result: FS_ANSWER });
    answer(h, 'slow', firstId, { result: SLOW_ANSWER });
    assert.ok(!h.clientMessages().some((m) => m['method'] !== undefined), 'the old answer is dropped');
    answer(h, 'slow', secondId, { result: SLOW_ANSWER });
    assert.deepEqual(h.clientMessages().at(-1)!['result']['capabilities'], { tools: { listChanged: true }, resources: {} }, 'in time, it is in the merge');

    const down = harness(['fs', 'slow'], 1000);
    const downId = initializeWithoutSlow(down);
    down.gateway.serviceDown('slow', 'it exited 6 times');
    answer(down, 'slow', downId, { result: SLOW_ANSWER });
    assert.equal(down.toClient.length, 1);
  });
});

describe('gateway channel under the pump: a client batch', () => {
  it('should reach the client as one array, every member settling its request in the pump\'s ledger', () => {
    const clock = new FakeClock();
    const logs = captureLogs();
    const fs = memoryChannel(), web = memoryChannel(), client = memoryChannel();
    const gateway = createGatewayChannel({
      services: [{ name: 'fs', channel: fs }, { name: 'web', channel: web }],
      separator: '.', logger: logs.logger, clock, serverInfo: { name: 'g', version: '1' },
    });
    const ends: RequestEnd[] = [];
    const pump = createPump({
      client, server: gateway, logger: logs.logger, clock, policy: undefined,
      events: { onClientEnd: () => {}, onClientGone: () => {}, onServerEnd: () => {} },
      observer: { onFrame: () => 0, onRequestEnd: (end) => void ends.push(end) },
    });
    client.push(JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fs.read' } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'web.fetch' } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'nowhere.x' } },
    ]));
    assert.equal(pump.pendingCount, 2, 'the refused member ended at once, as a local reply');
    const fsId = JSON.parse(fs.sent[0]!.line)['id'];
    const webId = JSON.parse(web.sent[0]!.line)['id'];
    web.push(JSON.stringify({ jsonrpc: '2.0', id: webId, result: { from: 'web' } }));
    fs.push(JSON.stringify({ jsonrpc: '2.0', id: fsId, result: { from: 'fs' } }));
    assert.equal(client.sent.length, 1, client.sent.map((f) => f.line).join(''));
    const members = JSON.parse(client.sent[0]!.line) as Json[];
    assert.deepEqual(members.map((m) => [m['id'], m['result']?.['from'] ?? m['error']['data']['code']]).sort(), [[1, 'fs'], [2, 'web'], [3, 'SIDECAR_ERR_GATEWAY_NO_ROUTE']]);
    assert.equal(pump.pendingCount, 0);
    assert.deepEqual(ends.map((end) => end.outcome).sort(), ['blocked', 'forwarded', 'forwarded']);
  });
});
