// The gateway's correlation ids, as reports and logs read them: while the gateway settles a call
// (its answer, or its error, on the way to the client) correlationOf names the id the service
// received it under, and nothing otherwise; the per-call log lines name both ids and the service.
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
  const channels = new Map<string, MemoryChannel>([['fs', memoryChannel()], ['web', memoryChannel()]]);
  const gateway = createGatewayChannel({
    services: [...channels].map(([name, channel]) => ({ name, channel })),
    separator: '.', logger: logs.logger, clock: new FakeClock(), serverInfo: { name: 'gateway', version: '1' },
  });
  /** What correlationOf said for each client id, at the moment its answer reached the pump. */
  const seen: Array<{ clientId: string; correlation: string | undefined }> = [];
  const read = (clientId: string): void => void seen.push({ clientId, correlation: gateway.correlationOf(clientId) });
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
  return { gateway, logs, seen, fromClient, sentTo, answer, push };
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

  it('should name none for what the gateway answers itself or fans out', () => {
    const s = setup();
    s.fromClient({ jsonrpc: '2.0', id: 4, method: 'ping' });
    s.fromClient({ jsonrpc: '2.0', id: 5, method: 'tools/list' });
    for (const name of ['fs', 'web']) {
      const part = s.sentTo(name).at(-1)!;
      assert.equal(part['method'], 'tools/list');
      s.push(name, { jsonrpc: '2.0', id: part['id'], result: { tools: [] } });
    }
    assert.deepEqual(s.seen, [{ clientId: '4', correlation: undefined }, { clientId: '5', correlation: undefined }]);
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
