// Proposed: test/components/gateway/gateway-ids.test.ts (G4). The gateway's id table under load:
// many calls in flight (past the table's first size, so it grows), answered in a seeded random
// order, some cancelled, client ids of every length and kind: each answer reaches its own caller
// under its own id with every other byte as the service wrote it; a late answer to a cancelled
// call reaches nobody; ids issued at the client's length are restored in place.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, type Envelope } from '../../../components/framing/index.js';
import { createGatewayChannel } from '../../../components/gateway/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { memoryChannel } from '../pump/memory-channel.js';

function harness() {
  const channels = { fs: memoryChannel(), web: memoryChannel() };
  const gateway = createGatewayChannel({
    services: [{ name: 'fs', channel: channels.fs }, { name: 'web', channel: channels.web }],
    separator: '.', logger: captureLogs('debug').logger, clock: new FakeClock(), serverInfo: { name: 'g', version: '1' },
  });
  const toClient: Array<{ line: Buffer; envelope: Envelope | undefined }> = [];
  gateway.start({ onFrame: (line, envelope) => void toClient.push({ line: Buffer.from(line), envelope }), onOversized() {}, onEnd() {}, onWriteError() {}, onCongested() {}, onDrained() {}, onLocalReply() {} });
  const send = (text: string): void => {
    const bytes = Buffer.from(`${text}\n`);
    gateway.send(bytes, readEnvelope(bytes) as Envelope);
  };
  return { channels, send, toClient };
}

describe('gateway ids (G4)', () => {
  it('should route 300 calls in flight, answered in a random order, each to its caller (seeded)', () => {
    const random = seededRandom(4);
    const h = harness();
    const clientIds = Array.from({ length: 300 }, (_, n) => [String(n), String(100_000 + n), `"s-${n}"`, `"${'u'.repeat(40)}${n}"`, String(-n - 1), '"\\u00e9' + n + '"'][n % 6]!);
    const calls = clientIds.map((clientId, n) => {
      const service = n % 2 === 0 ? 'fs' : 'web';
      h.send(`{"jsonrpc":"2.0","id":${clientId},"method":"tools/call","params":{"name":"${service}.t${n}","arguments":{"n":${n}}}}`);
      const sent = h.channels[service].sent.at(-1)!;
      const forwarded = JSON.parse(sent.line) as Record<string, any>;
      assert.equal(forwarded['params']['name'], `t${n}`);
      assert.equal(typeof forwarded['id'], 'number');
      if (/^\d+$/.test(clientId)) assert.equal(String(forwarded['id']).length, clientId.length, 'a numeric client id gets a gateway id of its length');
      return { clientId, service, gatewayId: forwarded['id'] as number, n };
    });
    assert.equal(new Set(calls.map((c) => c.gatewayId)).size, calls.length, 'gateway ids are unique');
    const order = calls.map((_, i) => i).sort(() => random() - 0.5);
    const cancelled = new Set(order.filter((i) => i % 7 === 3));
    for (const i of cancelled) h.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":${calls[i]!.clientId}}}`);
    for (const i of order) {
      const { service, gatewayId, n } = calls[i]!;
      h.channels[service].push(`{"result":{"n":${n},"id":${gatewayId}},"jsonrpc":"2.0","id":${gatewayId}}`);
    }
    const expected = order.filter((i) => !cancelled.has(i));
    assert.equal(h.toClient.length, expected.length, 'a cancelled call\'s late answer reaches nobody');
    expected.forEach((i, k) => {
      const { clientId, gatewayId, n } = calls[i]!;
      const { line, envelope } = h.toClient[k]!;
      assert.equal(line.toString('utf8'), `{"result":{"n":${n},"id":${gatewayId}},"jsonrpc":"2.0","id":${clientId}}\n`);
      const read = readEnvelope(line) as Envelope;
      assert.equal(envelope?.key, read.key);
    });
    // A second round after the first is settled: new ids, never one a late answer could match.
    const before = Math.max(...calls.map((c) => c.gatewayId));
    h.send('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"fs.again"}}');
    const again = JSON.parse(h.channels.fs.sent.at(-1)!.line)['id'] as number;
    assert.ok(!calls.some((c) => c.gatewayId === again), `${again} was never issued before (${before})`);
  });

  it('should forward exactly the client\'s bytes but the id and the namespace, by every copy path', () => {
    const h = harness();
    const big = 'x'.repeat(9_000); // past a slab's largest frame: a buffer of its own
    const cases: Array<{ text: string; expected: (gatewayId: string) => string; via: string }> = [];
    for (let n = 0; n < 2_000; n++) {
      // Member orders, spacing and ids as peers write them; 2,000 calls of ~150 bytes fill more than one 256 KiB slab.
      const id = n % 5 === 4 ? `"req-${'u'.repeat(36)}${n}"` : String(100_000 + n);
      const name = n % 3 === 0 ? 'fs.read' : 'fs.dir.read';
      const args = n === 1_500 ? big : 'y'.repeat(n % 90);
      const layouts = [
        (i: string, nm: string) => `{"jsonrpc":"2.0","id":${i},"method":"tools/call","params":{"name":"${nm}","arguments":{"a":"${args}"}}}`,
        (i: string, nm: string) => `{"method":"tools/call","params":{"arguments":{"a":"${args}"},"name":"${nm}"},"jsonrpc":"2.0","id":${i}}`,
        (i: string, nm: string) => `{ "jsonrpc" : "2.0" , "params" : { "name" : "${nm}" } , "id" : ${i} , "method" : "tools/call" }`,
      ];
      const layout = layouts[n % layouts.length]!;
      cases.push({ text: layout(id, name), expected: (gatewayId) => layout(gatewayId, name.slice(3)), via: `call ${n}` });
    }
    for (const { text, expected, via } of cases) {
      h.send(text);
      const sent = h.channels.fs.sent.at(-1)!;
      assert.equal(sent.line, `${expected(sent.envelope!.id!)}\n`, via);
    }
  });

  it('should give the answer back in place when the ids have one length', () => {
    const h = harness();
    h.send('{"jsonrpc":"2.0","id":123456,"method":"tools/call","params":{"name":"fs.x"}}');
    const gatewayId = JSON.parse(h.channels.fs.sent[0]!.line)['id'] as number;
    const answer = Buffer.from(`{"jsonrpc":"2.0","id":${gatewayId},"result":{}}\n`);
    h.channels.fs.handlers.onFrame(answer);
    assert.equal(answer.toString(), '{"jsonrpc":"2.0","id":123456,"result":{}}\n', 'the service\'s line itself carries the client\'s id');
  });
});
