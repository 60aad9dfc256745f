import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastReadPositions, readEnvelope, type MessagePositions } from '../../../components/framing/index.js';

const text = (line: Buffer, start: number, end: number): string => line.toString('utf8', start, end);

describe('lastReadPositions', () => {
  it('tells where the frame read last has its id and params, by the bytes', () => {
    const out: MessagePositions = { idStart: 0, idEnd: 0, paramsStart: 0 };
    for (const [frame, id] of [
      ['{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"a.b"}}\n', '17'],
      ['{"method":"tools/call","params":{"name":"a.b"},"jsonrpc":"2.0","id":"x-1"}\n', '"x-1"'],
      ['{ "jsonrpc" : "2.0" , "\\u0069d" : 12.5e0 , "method" : "m" , "params" : { } }\n', '12.5e0'],
    ] as const) {
      const line = Buffer.from(frame);
      assert.notEqual(readEnvelope(line).kind, 'invalid');
      assert.equal(lastReadPositions(line, out), true, frame);
      assert.equal(text(line, out.idStart, out.idEnd), id, frame);
      assert.equal(line[out.paramsStart], 0x7b, frame);
    }
  });

  it('reports absent members as -1 (a notification, a response)', () => {
    const out: MessagePositions = { idStart: 0, idEnd: 0, paramsStart: 0 };
    const notification = Buffer.from('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
    readEnvelope(notification);
    assert.equal(lastReadPositions(notification, out), true);
    assert.deepEqual(out, { idStart: -1, idEnd: -1, paramsStart: -1 });
    const response = Buffer.from('{"jsonrpc":"2.0","id":3,"result":{}}\n');
    readEnvelope(response);
    assert.equal(lastReadPositions(response, out), true);
    assert.deepEqual([out.idStart, out.idEnd, out.paramsStart], [22, 23, -1]);
  });

  it('answers false for any other buffer: a copy, a frame read before another, a batch, a refused frame', () => {
    const out: MessagePositions = { idStart: 0, idEnd: 0, paramsStart: 0 };
    const line = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    readEnvelope(line);
    assert.equal(lastReadPositions(Buffer.from(line), out), false, 'the same bytes in another buffer (a rewrite) are not the frame read');
    readEnvelope(Buffer.from('{"jsonrpc":"2.0","id":2,"method":"ping"}\n'));
    assert.equal(lastReadPositions(line, out), false, 'another frame was read since');
    const batch = Buffer.from('[{"jsonrpc":"2.0","id":1,"method":"ping"}]\n');
    readEnvelope(batch);
    assert.equal(lastReadPositions(batch, out), false);
    const duplicate = Buffer.from('{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}\n');
    assert.equal(readEnvelope(duplicate).kind, 'invalid');
    assert.equal(lastReadPositions(duplicate, out), false);
    const large = Buffer.from(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a.b","arguments":{"text":"${'x'.repeat(70_000)}"}}}\n`);
    assert.equal(readEnvelope(large).kind, 'request');
    assert.equal(lastReadPositions(large, out), false, 'a frame over 64 KiB is not held between reads: the caller walks it');
    const notUtf8 = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'), Buffer.from([0xff]), Buffer.from('"}\n')]);
    assert.equal(readEnvelope(notUtf8).kind, 'invalid');
    assert.equal(lastReadPositions(notUtf8, out), false);
  });
});
