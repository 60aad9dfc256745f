// --trace-inject's rewrite: the traceparent added where MCP carries it, and nothing else of the
// frame changed (numbers, escapes, order, whitespace as written); never a second member.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope } from '../../../components/framing/index.js';
import { withTraceparent } from '../../../components/tracing/index.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const splice = (text: string) => withTraceparent(Buffer.from(`${text}\n`), TP)?.toString('utf8');

describe('traceparent splice', () => {
  it('should add params._meta.traceparent to a request without params, without _meta, and with an empty or full _meta', () => {
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"ping"}'), `{"params":{"_meta":{"traceparent":"${TP}"}},"jsonrpc":"2.0","id":1,"method":"ping"}\n`);
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":1.0}}}'),
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"traceparent":"${TP}"},"name":"a","arguments":{"x":1.0}}}\n`);
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","params":{}}'), `{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"traceparent":"${TP}"}}}\n`);
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{}}}'), `{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"traceparent":"${TP}"}}}\n`);
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"}{\\"_meta\\"","_meta" : { "progressToken" : 7 } }}'),
      `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":"}{\\"_meta\\"","_meta" : {"traceparent":"${TP}", "progressToken" : 7 } }}\n`);
  });

  it('should leave alone what it cannot add to without changing its meaning', () => {
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","params":[1,2]}'), undefined, 'params by position');
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":null}}'), undefined, '_meta not an object');
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"traceparent":"garbage"}}}'), undefined, 'the client\'s own, even unreadable');
    assert.equal(splice('[{"jsonrpc":"2.0","id":1,"method":"x"}]'), undefined, 'a batch');
  });

  it('should read member names by value: an escaped "params" is params', () => {
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","p\\u0061rams":{"_m\\u0065ta":{"traceparent":"t"}}}'), undefined);
    assert.equal(splice('{"jsonrpc":"2.0","id":1,"method":"x","p\\u0061rams":{"k":"v"}}'), `{"jsonrpc":"2.0","id":1,"method":"x","p\\u0061rams":{"_meta":{"traceparent":"${TP}"},"k":"v"}}\n`);
  });

  it('should give, for generated requests, one reading with the traceparent added and everything else equal (seeded)', () => {
    const random = seededRandom(17);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const value = (depth: number): unknown => {
      const kind = depth > 2 ? random() * 3 : random() * 5;
      if (kind < 1) return pick(['a', 'q"uote', 'b\\ack', '{[', '\u00e9\u4e2d', '']);
      if (kind < 2) return Math.floor(random() * 1e6) / 100;
      if (kind < 3) return pick([true, false, null]);
      if (kind < 4) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 3) }, (_, i) => [`k${i}${pick(['', '}', '"'])}`, value(depth + 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const params: Record<string, unknown> | undefined = random() < 0.2 ? undefined : Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, j) => [`p${j}`, value(0)]));
      if (params !== undefined && random() < 0.5) params['_meta'] = random() < 0.5 ? {} : { progressToken: i, other: value(1) };
      const request = { jsonrpc: '2.0', id: i, method: 'tools/call', ...(params === undefined ? {} : { params }) };
      const text = random() < 0.5 ? JSON.stringify(request) : JSON.stringify(request, null, 1).replace(/\n/g, ' ');
      const out = withTraceparent(Buffer.from(`${text}\n`), TP)!;
      assert.ok(out !== undefined, text);
      assert.equal(readEnvelope(out).kind, 'request', `one reading: ${out}`);
      const expected = { ...request, params: { ...params, _meta: { ...(params?.['_meta'] as object | undefined), traceparent: TP } } };
      assert.deepEqual(JSON.parse(out.toString('utf8')), expected, text);
    }
  });
});
