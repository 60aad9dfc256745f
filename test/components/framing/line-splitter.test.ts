import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, OVERSIZED_KEEP_BYTES, type OversizedLine } from '../../../components/framing/index.js';

function split(chunks: Buffer[], maxLineBytes = 1 << 20): { lines: string[]; oversized: OversizedLine[]; splitter: LineSplitter } {
  const lines: string[] = [];
  const oversized: OversizedLine[] = [];
  const splitter = new LineSplitter(maxLineBytes, {
    onLine: (line) => lines.push(line.toString('utf8')),
    onOversized: (line) => oversized.push(line),
  });
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return { lines, oversized, splitter };
}

describe('LineSplitter', () => {
  const input = Buffer.from('{"a":1}\n{"b":"é漢🙂"}\r\n\n  \n{"c":[1,2,3]}\n');
  const expected = ['{"a":1}\n', '{"b":"é漢🙂"}\r\n', '  \n', '{"c":[1,2,3]}\n'];

  it('should give the same lines wherever the chunk boundaries fall, multi-byte characters included', () => {
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b += 3) {
        const { lines } = split([input.subarray(0, a), input.subarray(a, b), input.subarray(b)]);
        assert.deepEqual(lines, expected, `cut at ${a} and ${b}`);
      }
    }
  });

  it('should deliver one byte at a time correctly', () => {
    const bytes = [...input].map((byte) => Buffer.from([byte]));
    assert.deepEqual(split(bytes).lines, expected);
  });

  it('should skip empty lines but keep a CRLF frame with its terminator', () => {
    const { lines } = split([Buffer.from('\n\r\n{"x":1}\r\n\n')]);
    assert.deepEqual(lines, ['{"x":1}\r\n']);
  });

  it('should emit a last line that has no newline at end of input', () => {
    assert.deepEqual(split([Buffer.from('{"a":1}\n{"b":'), Buffer.from('2}')]).lines, ['{"a":1}\n', '{"b":2}']);
  });

  it('should hand out a line that arrived whole as a view of its chunk, without copying', () => {
    const chunk = Buffer.from('{"a":1}\n{"b":2}\n');
    const views: Buffer[] = [];
    const splitter = new LineSplitter(1024, { onLine: (line) => views.push(line), onOversized: () => {} });
    splitter.push(chunk);
    assert.equal(views.length, 2);
    for (const view of views) assert.equal(view.buffer, chunk.buffer);
  });

  it('should split a 32 MiB frame with work linear in its size', () => {
    const frameBytes = 32 * 1024 * 1024;
    const frame = Buffer.alloc(frameBytes + 1, 0x61);
    frame[frameBytes] = 0x0a;
    const chunkBytes = 64 * 1024;
    const chunks: Buffer[] = [];
    for (let i = 0; i < frame.length; i += chunkBytes) chunks.push(frame.subarray(i, i + chunkBytes));

    // Count the bytes searched and copied: linear means each byte is searched once and copied once.
    let searched = 0;
    let copied = 0;
    const { indexOf } = Buffer.prototype;
    const { concat } = Buffer;
    Buffer.prototype.indexOf = function (this: Buffer, value: never, byteOffset?: number) {
      const at = indexOf.call(this, value, byteOffset) as number;
      searched += (at === -1 ? this.length : at + 1) - (byteOffset ?? 0);
      return at;
    } as typeof indexOf;
    Buffer.concat = ((list: readonly Uint8Array[], totalLength?: number) => {
      const joined = concat(list, totalLength);
      copied += joined.length;
      return joined;
    }) as typeof concat;
    let lengths: number[];
    try {
      const lines: number[] = [];
      const splitter = new LineSplitter(64 * 1024 * 1024, { onLine: (line) => lines.push(line.length), onOversized: () => {} });
      for (const chunk of chunks) splitter.push(chunk);
      lengths = lines;
    } finally {
      Buffer.prototype.indexOf = indexOf;
      Buffer.concat = concat;
    }
    assert.deepEqual(lengths, [frameBytes + 1]);
    assert.ok(searched >= frameBytes && copied >= frameBytes, 'the counters saw the work');
    assert.ok(searched <= frame.length, `searched ${searched} bytes for a ${frame.length}-byte input`);
    assert.ok(copied <= frame.length, `copied ${copied} bytes for a ${frame.length}-byte input`);
  });

  it('should report an over-long line with its ends, hold no more than the limit, and go on with the next line', () => {
    const max = 10_000;
    const body = 'x'.repeat(50_000);
    const big = Buffer.from(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"p":"${body}"}}\r\n`);
    const next = Buffer.from('{"jsonrpc":"2.0","id":8,"method":"ping"}\n');
    const lines: string[] = [];
    const oversized: OversizedLine[] = [];
    const splitter = new LineSplitter(max, { onLine: (line) => lines.push(line.toString()), onOversized: (line) => oversized.push(line) });
    for (let i = 0; i < big.length; i += 1000) {
      splitter.push(big.subarray(i, i + 1000));
      assert.ok(splitter.bufferedBytes <= max, `holds ${splitter.bufferedBytes} bytes`);
    }
    splitter.push(next);
    assert.equal(oversized.length, 1);
    assert.equal(oversized[0]!.bytes, big.length - 2);
    assert.equal(oversized[0]!.head.length, OVERSIZED_KEEP_BYTES);
    assert.ok(oversized[0]!.head.toString().startsWith('{"jsonrpc":"2.0","id":7'));
    assert.ok(oversized[0]!.tail.toString().endsWith('"}}'), 'the tail ends before the CRLF');
    assert.deepEqual(lines, [next.toString()]);
  });

  it('should report an over-long line that arrived in a single chunk', () => {
    const { lines, oversized } = split([Buffer.from(`{"a":"${'y'.repeat(2000)}"}\n{"b":1}\n`)], 1024);
    assert.equal(oversized.length, 1);
    assert.deepEqual(lines, ['{"b":1}\n']);
  });

  it('should accept a line of exactly the limit', () => {
    const line = `{"a":"${'z'.repeat(1024 - 8)}"}`;
    assert.equal(Buffer.byteLength(line), 1024);
    const { lines, oversized } = split([Buffer.from(`${line}\n`)], 1024);
    assert.equal(oversized.length, 0);
    assert.equal(lines.length, 1);
  });
});
