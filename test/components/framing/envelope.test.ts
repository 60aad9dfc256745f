import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readEnvelope, readOversizedId, type EnvelopeResult } from '../../../components/framing/index.js';

const read = (text: string): EnvelopeResult => readEnvelope(Buffer.from(`${text}\n`));

describe('readEnvelope', () => {
  it('should classify requests, notifications, responses and errors', () => {
    assert.deepEqual(read('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'), { kind: 'request', id: '1', key: '1', method: 'tools/list', depth: 1 });
    assert.deepEqual(read('{"jsonrpc":"2.0","method":"notifications/initialized"}'), { kind: 'notification', id: undefined, key: undefined, method: 'notifications/initialized', depth: 1 });
    assert.deepEqual(read('{"jsonrpc":"2.0","id":"a-1","result":{}}'), { kind: 'response', id: '"a-1"', key: '"a-1"', method: undefined, depth: 2 });
    assert.deepEqual(read('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}'), { kind: 'error', id: 'null', key: undefined, method: undefined, depth: 2 });
  });

  it('should keep the id exactly as written, in any key order and with whitespace', () => {
    assert.equal(read('{"result":{"a":[1,{"id":9}]},"id":1.50,"jsonrpc":"2.0"}').id, '1.50');
    assert.equal(read(' { "method" : "ping" , "id" : "x\\"y" } ').id, '"x\\"y"');
    assert.equal(read('{"id":1e3,"method":"ping"}').id, '1e3');
  });

  it('should ignore ids and methods inside nested values', () => {
    const envelope = read('{"jsonrpc":"2.0","result":{"id":99,"method":"evil","content":[{"text":"\\"id\\":5"}]},"id":3}');
    assert.deepEqual(envelope, { kind: 'response', id: '3', key: '3', method: undefined, depth: 4 });
  });

  it('should decode an escaped key or method, so a rule sees what the server sees', () => {
    assert.deepEqual(read('{"jsonrpc":"2.0","id":1,"\\u006dethod":"tools/\\u0063all"}'), { kind: 'request', id: '1', key: '1', method: 'tools/call', depth: 1 });
  });

  it('should refuse duplicate keys: parsers disagree on which one wins', () => {
    const envelope = read('{"id":1,"method":"tools/list","method":"tools/call"}');
    assert.equal(envelope.kind, 'invalid');
    assert.equal((envelope as { problem: string }).problem, 'ambiguous');
  });

  it('should pass unknown top-level fields and _meta', () => {
    assert.equal(read('{"jsonrpc":"2.0","id":1,"method":"x/y","params":{"_meta":{"progressToken":1}},"extra":[true,false,null]}').kind, 'request');
  });

  it('should read a batch and its members', () => {
    const batch = read('[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]');
    assert.equal(batch.kind, 'batch');
    assert.deepEqual((batch as { members: unknown[] }).members.map((m) => (m as { kind: string }).kind), ['request', 'notification']);
  });

  it('should call malformed JSON a parse problem', () => {
    for (const text of ['not json', '{"id":1,"method":"x"', '{"id":1,"method":"x"}}', '{"id":1 "method":"x"}', '{"a":[1,2}', '{"a":"unterminated}',
      '{"id":01x,"method":"x"}', '{"a":tru}', '{id:1}', '{"id":1,}']) {
      const envelope = read(text);
      assert.equal(envelope.kind, 'invalid', text);
      assert.equal((envelope as { problem: string }).problem, 'parse', text);
    }
  });

  it('should call JSON that is not a JSON-RPC message not_jsonrpc', () => {
    for (const text of ['42', '"str"', '{}', '{"jsonrpc":"2.0","id":1}', '{"id":1,"method":5}']) {
      const envelope = read(text);
      assert.equal(envelope.kind, 'invalid', text);
      assert.equal((envelope as { problem: string }).problem, 'not_jsonrpc', text);
    }
    assert.equal((read('{"jsonrpc":"2.0","id":4}') as { id: string }).id, '4');
  });

  it('should refuse a message without "jsonrpc": "2.0" (SDKs that validate drop it; a lenient peer acts on it), keeping its id to answer', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"id":1,"method":"tools/call"}', /"jsonrpc": "2.0" is missing/],
      ['{"method":"notifications/initialized"}', /"jsonrpc": "2.0" is missing/],
      ['{"id":1,"result":{}}', /"jsonrpc": "2.0" is missing/],
      ['{"jsonrpc":"1.0","id":1,"method":"ping"}', /"jsonrpc" must be "2.0"/],
      ['{"jsonrpc":2.0,"id":1,"method":"ping"}', /"jsonrpc" must be "2.0"/],
      ['{"id":1,"jsonrpc":"2.0 ","method":"ping"}', /"jsonrpc" must be "2.0"/],
      ['[{"jsonrpc":"2.0","id":1,"method":"ping"},{"id":2,"method":"ping"}]', /batch member 2: "jsonrpc": "2.0" is missing/],
    ];
    for (const [text, detail] of cases) {
      const envelope = read(text) as { kind: string; problem: string; detail: string; id?: string };
      assert.deepEqual([envelope.kind, envelope.problem], ['invalid', 'not_jsonrpc'], text);
      assert.match(envelope.detail, detail, text);
    }
    assert.equal((read('{"id":7,"method":"ping"}') as { id: string }).id, '7', 'the id is still echoed in the refusal');
    assert.equal(read('{"id":1,"method":"x","jsonrpc":"2\\u002e0"}').kind, 'request', 'an escape every parser decodes to "2.0" is "2.0"');
    assert.equal(read('{"method":"x", "jsonrpc" : "2.0" ,"id":1}').kind, 'request', 'anywhere in the object, with whitespace');
    assert.equal((read('{"id":1,"method":"x"}}') as { problem: string }).problem, 'parse', 'malformed JSON is a parse problem first');
  });

  it('should check UTF-8 in short and long strings alike (the SIMD scan notes what it passes over)', () => {
    for (const length of [5, 40, 600, 70_000, 1_100_000]) {
      const valid = Buffer.from(`{"jsonrpc":"2.0","id":1,"result":{"text":"${'é'.repeat(length)}"}}\n`);
      assert.equal(readEnvelope(valid).kind, 'response', `valid UTF-8, ${length} characters`);
      for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
        const text = Buffer.from(`{"jsonrpc":"2.0","id":1,"result":{"text":"${'a'.repeat(length)}`);
        const frame = Buffer.concat([text, Buffer.from(bad), Buffer.from('b"}}\n')]);
        const envelope = readEnvelope(frame);
        assert.equal(envelope.kind, 'invalid', `bytes ${bad} after ${length} ASCII characters`);
        assert.match((envelope as { detail: string }).detail, /UTF-8/);
      }
    }
  });

  it('should read a large body without parsing it', () => {
    const text = JSON.stringify({ jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'é"\\'.repeat(300_000) }] } });
    const { parse } = JSON;
    let parsedBytes = 0;
    JSON.parse = ((source: string, reviver?: never) => {
      parsedBytes += source.length;
      return parse(source, reviver);
    }) as typeof JSON.parse;
    try {
      assert.deepEqual(read(text), { kind: 'response', id: '5', key: '5', method: undefined, depth: 4 });
    } finally {
      JSON.parse = parse;
    }
    assert.ok(parsedBytes < 64, `JSON.parse saw ${parsedBytes} characters`);
  });
});

describe('readOversizedId', () => {
  it('should find the id at the head of a request and at the tail of a response', () => {
    const head = Buffer.from('{"jsonrpc":"2.0","method":"tools/call","id":"r-1","params":{"arguments":{"x":"aaaa');
    assert.deepEqual(readOversizedId({ head, tail: Buffer.from('aaaa"}}}'), bytes: 1e6 }), { id: '"r-1"', key: '"r-1"', method: 'tools/call' });
    const response = { head: Buffer.from('{"result":{"content":[{"text":"bbbb'), tail: Buffer.from('bbbb"}]},"jsonrpc":"2.0","id":12}'), bytes: 1e6 };
    assert.deepEqual(readOversizedId(response), { id: '12', key: '12', method: undefined });
  });

  it('should give no id when neither end shows one', () => {
    assert.deepEqual(readOversizedId({ head: Buffer.from('{"params":{"x":"cccc'), tail: Buffer.from('cccc"}}'), bytes: 1e6 }), { id: undefined, key: undefined, method: undefined });
  });
});
