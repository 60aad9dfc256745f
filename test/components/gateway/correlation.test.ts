// The gateway's correlation ids, as reports and logs read them: while the gateway settles a call
// (its answer, or its error, on the way to the client) correlationOf names the id the service
// received it under, and nothing otherwise; while it answers a fan-out, correlationsOf names each
// part's, by service; the per-call and per-part log lines name both ids and the service.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { memoryChannel, type MemoryChannel } from '../pump/memory-channel.js';

type Json = Record<string, any>;

/** A gateway over two in-memory services whose fake pump reads correlationOf for every id in each frame or local reply it is handed, as the session's observer does when a request ends. */
function setup(level: 'debug' | 'info' = 'debug') {
  const logs = captureLogs(level);
  const clock = new FakeClock();
  const channels = new Map<string, MemoryChannel>([['fs', memoryChannel()], ['web', memoryChannel()]]);
  const gateway = createGatewayChannel({
    services: [...channels].map(([name, channel]) => ({ name, channel })),
    separator: '.', logger: logs.logger, clock, fanOutTimeoutMs: 1000, serverInfo: { name: 'gateway', version: '1' },
  });
  /** What correlationOf said for each client id, at the moment its answer reached the pump. */
  const seen: Array<{ clientId: string; correlation: string | undefined }> = [];
  /** What correlationsOf said for each client id, at the same moments. */
  const seenFanOut: Array<{ clientId: string; correlations: Readonly<Record<string, string>> | undefined }> = [];
  const read = (clientId: string): void => {
    seen.push({ clientId, correlation: gateway.correlationOf(clientId) });
    seenFanOut.push({ clientId, correlations: gateway.correlationsOf(clientId) });
  };
  gateway.start({
    onFrame(line) {
      const body = JSON.parse(line.toString('utf8')) as Json | Json[];
      for (const member of Array.isArray(body) ? body : [body]) if (member['id'] !== undefined && member['method'] === undefined) read(JSON.stringify(member['id']));
    },
    onOversized: () => {},
    onEnd: () => {},
    onWriteError: () => {},
    onCongested: () => {},
    onDrained: () => {},
    onLocalReply: (target) => read(target.id),
  });
  const fromClient = (message: Json | Json[]): void => {
    const bytes = Buffer.from(`${JSON.stringify(message)}\n`);
    gateway.send(bytes, readEnvelope(bytes) as Envelope);
  };
  const sentTo = (name: string): Json[] => channels.get(name)!.sent.map(({ line }) => JSON.parse(line) as Json);
  const answer = (name: string, id: unknown): void => channels.get(name)!.push(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } }));
  const push = (name: string, message: Json): void => channels.get(name)!.push(JSON.stringify(message));
  return { gateway, logs, clock, seen, seenFanOut, fromClient, sentTo, answer, push };
}

const callOf = (id: unknown, tool: string): Json => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } });

describe('gateway correlation ids', () => {
  it('should name the id the service received while the call\'s answer reaches the client, and only then', () => {
    const s = setup();
    s.fromClient(callOf('a', 'fs.read'));
    const received = s.sentTo('fs').at(-1)!['id'] as number;
    assert.equal(typeof received, 'number');
    assert.equal(s.gateway.correlationOf(JSON.stringify('a')), undefined, 'not while the call is in flight');
    s.answer('fs', received);
    assert.deepEqual(s.seen, [{ clientId: JSON.stringify('a'), correlation: String(received) }]);
    assert.equal(s.gateway.correlationOf(JSON.stringify('a')), undefined, 'not after it settled');
  });

  it('should not lend one call\'s correlation to another client id', () => {
    const s = setup();
    s.fromClient(callOf(7, 'fs.read'));
    s.fromClient(callOf(8, 'web.fetch'));
    const [fsId, webId] = [s.sentTo('fs').at(-1)!['id'], s.sentTo('web').at(-1)!['id']];
    assert.notEqual(fsId, webId);
    s.answer('web', webId);
    s.answer('fs', fsId);
    assert.deepEqual(s.seen, [{ clientId: '8', correlation: String(webId) }, { clientId: '7', correlation: String(fsId) }]);
  });

  it('should name it for a call that failed at its service (answered through the pump\'s local reply)', () => {
    const s = setup();
    s.fromClient(callOf(3, 'fs.read'));
    const received = s.sentTo('fs').at(-1)!['id'] as number;
    s.gateway.serviceDown('fs', 'gave up after 5 restarts');
    assert.deepEqual(s.seen, [{ clientId: '3', correlation: String(received) }]);
  });

  it('should name each batch member\'s while the batch\'s array reaches the client', () => {
    const s = setup();
    s.fromClient([callOf(1, 'fs.read'), callOf(2, 'web.fetch')]);
    const [fsId, webId] = [s.sentTo('fs').at(-1)!['id'], s.sentTo('web').at(-1)!['id']];
    s.answer('web', webId);
    assert.deepEqual(s.seen, [], 'the array waits for every member');
    s.answer('fs', fsId);
    // The array holds the answers in the order they came.
    assert.deepEqual(s.seen, [{ clientId: '2', correlation: String(webId) }, { clientId: '1', correlation: String(fsId) }]);
  });

  it('should name none for what the gateway answers itself, and no single id for a fan-out', () => {
    const s = setup();
    s.fromClient({ jsonrpc: '2.0', id: 4, method: 'ping' });
    s.fromClient({ jsonrpc: '2.0', id: 5, method: 'tools/list' });
    for (const name of ['fs', 'web']) {
      const part = s.sentTo(name).at(-1)!;
      assert.equal(part['method'], 'tools/list');
      s.push(name, { jsonrpc: '2.0', id: part['id'], result: { tools: [] } });
    }
    assert.deepEqual(s.seen, [{ clientId: '4', correlation: undefined }, { clientId: '5', correlation: undefined }]);
    assert.equal(s.seenFanOut[0]!.correlations, undefined, 'ping went to no service');
  });

  it('should name every part\'s id, by service, while a fan-out\'s answer reaches the client, and only then', () => {
    const s = setup();
    s.fromClient({ jsonrpc: '2.0', id: 'list', method: 'tools/list' });
    const [fsPart, webPart] = [s.sentTo('fs').at(-1)!, s.sentTo('web').at(-1)!];
    assert.notEqual(fsPart['id'], webPart['id']);
    assert.equal(s.gateway.correlationsOf(JSON.stringify('list')), undefined, 'not while its parts are awaited');
    s.push('web', { jsonrpc: '2.0', id: webPart['id'], result: { tools: [] } });
    assert.deepEqual(s.seenFanOut, [], 'the answer waits for every part');
    s.push('fs', { jsonrpc: '2.0', id: fsPart['id'], result: { tools: [] } });
    assert.deepEqual(s.seenFanOut, [{ clientId: '"list"', correlations: { fs: String(fsPart['id']), web: String(webPart['id']) } }]);
    assert.equal(s.gateway.correlationsOf(JSON.stringify('list')), undefined, 'not after it was answered');
  });

  it('should name a part its service answered with an error, or not in time (each was sent), but no service it did not ask', () => {
    const s = setup();
    s.gateway.serviceDown('web', 'gave up after 5 restarts');
    s.fromClient({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
    assert.equal(s.sentTo('web').length, 0, 'a service down is not asked');
    const fsPart = s.sentTo('fs').at(-1)!;
    s.push('fs', { jsonrpc: '2.0', id: fsPart['id'], error: { code: -32603, message: 'broken' } });
    assert.deepEqual(s.seenFanOut.at(-1), { clientId: '9', correlations: { fs: String(fsPart['id']) } });

    const slow = setup();
    slow.fromClient({ jsonrpc: '2.0', id: 10, method: 'logging/setLevel', params: { level: 'info' } });
    const [fsLevel, webLevel] = [slow.sentTo('fs').at(-1)!, slow.sentTo('web').at(-1)!];
    slow.push('fs', { jsonrpc: '2.0', id: fsLevel['id'], result: {} });
    slow.clock.advance(1000);
    assert.deepEqual(slow.seenFanOut, [{ clientId: '10', correlations: { fs: String(fsLevel['id']), web: String(webLevel['id']) } }]);
  });

  it('should name the parts of a fan-out the gateway answers with an error (the pump\'s local reply)', () => {
    const s = setup();
    s.fromClient({ jsonrpc: '2.0', id: 11, method: 'logging/setLevel', params: { level: 'debug' } });
    const ids: Record<string, string> = {};
    for (const name of ['fs', 'web']) {
      const part = s.sentTo(name).at(-1)!;
      ids[name] = String(part['id']);
      s.push(name, { jsonrpc: '2.0', id: part['id'], error: { code: -32601, message: 'Method not found' } });
    }
    assert.deepEqual(s.seenFanOut, [{ clientId: '11', correlations: ids }]);
    assert.deepEqual(s.seen, [{ clientId: '11', correlation: undefined }]);
  });

  it('should name none for a fan-out no service was sent', () => {
    const s = setup();
    s.gateway.serviceDown('fs', 'down');
    s.gateway.serviceDown('web', 'down');
    s.fromClient({ jsonrpc: '2.0', id: 12, method: 'tools/list' });
    assert.deepEqual(s.seenFanOut, [{ clientId: '12', correlations: undefined }]);
  });

  it('should name a fan-out member\'s parts and a call member\'s id while a batch\'s array reaches the client', () => {
    const s = setup();
    s.fromClient([callOf(1, 'fs.read'), { jsonrpc: '2.0', id: 2, method: 'prompts/list' }]);
    const fsSent = s.sentTo('fs');
    const fsCall = fsSent.find((frame) => frame['method'] === 'tools/call')!;
    const fsList = fsSent.find((frame) => frame['method'] === 'prompts/list')!;
    const webList = s.sentTo('web').at(-1)!;
    s.push('fs', { jsonrpc: '2.0', id: fsList['id'], result: { prompts: [] } });
    s.push('web', { jsonrpc: '2.0', id: webList['id'], result: { prompts: [] } });
    assert.deepEqual(s.seenFanOut, [], 'the array waits for the call');
    s.answer('fs', fsCall['id']);
    // The array holds the answers in the order they came: the list's, then the call's.
    assert.deepEqual(s.seen, [{ clientId: '2', correlation: undefined }, { clientId: '1', correlation: String(fsCall['id']) }]);
    assert.deepEqual(s.seenFanOut, [{ clientId: '2', correlations: { fs: String(fsList['id']), web: String(webList['id']) } }, { clientId: '1', correlations: undefined }]);
  });

  it('should log each fan-out part sent with the service, the client\'s id and the gateway\'s, at debug level only', () => {
    const s = setup();
    s.fromClient({ jsonrpc: '2.0', id: 'r', method: 'resources/list' });
    const sentLines = s.logs.entries.filter((entry) => entry['msg'] === 'a fan-out part was sent to its service');
    assert.deepEqual(sentLines.map((entry) => [entry['service'], entry['clientId'], entry['gatewayId'], entry['method']]), [
      ['fs', '"r"', s.sentTo('fs').at(-1)!['id'], 'resources/list'],
      ['web', '"r"', s.sentTo('web').at(-1)!['id'], 'resources/list'],
    ]);
    const quiet = setup('info');
    quiet.fromClient({ jsonrpc: '2.0', id: 'r', method: 'resources/list' });
    assert.equal(quiet.logs.entries.filter((entry) => entry['msg'] === 'a fan-out part was sent to its service').length, 0);
  });

  it('should name the client\'s id and the part\'s in the warning for a list left out', () => {
    const s = setup('info');
    s.fromClient({ jsonrpc: '2.0', id: 13, method: 'tools/list' });
    const webPart = s.sentTo('web').at(-1)!;
    s.push('fs', { jsonrpc: '2.0', id: s.sentTo('fs').at(-1)!['id'], result: { tools: [] } });
    s.push('web', { jsonrpc: '2.0', id: webPart['id'], result: { nothing: true } });
    const warned = s.logs.entries.filter((entry) => entry['msg'] === 'a service\'s list has no items array: left out');
    assert.deepEqual(warned.map((entry) => [entry['service'], entry['clientId'], entry['gatewayId']]), [['web', '13', webPart['id']]]);
  });

  it('should log a call forwarded and answered with the service, the client\'s id and the gateway\'s', () => {
    const s = setup();
    s.fromClient(callOf(42, 'fs.read'));
    const received = s.sentTo('fs').at(-1)!['id'] as number;
    s.answer('fs', received);
    const lines = s.logs.entries.filter((entry) => entry['gatewayId'] === received);
    assert.deepEqual(lines.map((entry) => [entry['msg'], entry['service'], entry['clientId'], entry['method']]), [
      ['a call was forwarded to its service', 'fs', '42', 'tools/call'],
      ['a service answered a call', 'fs', '42', 'tools/call'],
    ]);
  });

  it('should write no per-call line above debug level', () => {
    const s = setup('info');
    s.fromClient(callOf(42, 'fs.read'));
    s.answer('fs', s.sentTo('fs').at(-1)!['id']);
    assert.equal(s.logs.entries.filter((entry) => entry['gatewayId'] !== undefined).length, 0);
  });
});
