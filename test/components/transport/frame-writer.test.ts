import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { FrameWriter } from '../../../components/transport/index.js';

// A stand-in for the output stream: records each write as the bytes it was given, and whether it
// was a view of the memory the test expects (no copy).
function recordingOutput(): { out: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const out = {
    writableNeedDrain: false,
    write(chunk: Buffer): boolean {
      writes.push(chunk);
      return true;
    },
    cork(): void {},
    uncork(): void {},
  };
  return { out: out as unknown as Writable, writes };
}

function linesOf(chunk: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0; start < chunk.length;) {
    const end = chunk.indexOf(0x0a, start) + 1;
    lines.push(chunk.subarray(start, end));
    start = end;
  }
  return lines;
}

describe('FrameWriter', () => {
  it('writes frames that were contiguous in one chunk as one view of that chunk', () => {
    const { out, writes } = recordingOutput();
    const writer = new FrameWriter(out, () => assert.fail('no backpressure'));
    const chunk = Buffer.from('{"a":1}\n{"b":2}\n{"c":3}\n');
    for (const line of linesOf(chunk)) writer.send(line);
    writer.flush();
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.toString(), chunk.toString());
    assert.equal(writes[0]!.buffer, chunk.buffer, 'a view, not a copy');
    assert.equal(writes[0]!.byteOffset, chunk.byteOffset);
  });

  it('does not join frames of two buffers whose offsets happen to follow on', () => {
    const { out, writes } = recordingOutput();
    const writer = new FrameWriter(out, () => {});
    // Two separate memories: the second line starts, in its own buffer, where the first ended in its.
    const first = new Uint8Array(new ArrayBuffer(16));
    first.set(Buffer.from('{"a":1}\n'));
    const second = new Uint8Array(new ArrayBuffer(16));
    second.set(Buffer.from('{"b":2}\n'), 8);
    writer.send(Buffer.from(first.buffer, 0, 8));
    writer.send(Buffer.from(second.buffer, 8, 8));
    writer.flush();
    assert.deepEqual(writes.map(String), ['{"a":1}\n', '{"b":2}\n']);
  });

  it('writes a run cut short by a frame from elsewhere as its own view, in order', () => {
    const { out, writes } = recordingOutput();
    const writer = new FrameWriter(out, () => {});
    const chunk = Buffer.from('{"a":1}\n{"b":2}\n{"c":3}\n');
    const [a, b, c] = linesOf(chunk);
    writer.send(a!);
    writer.send(b!);
    writer.send(Buffer.from('{"local":true}\n'));
    writer.send(c!);
    writer.flush();
    assert.deepEqual(writes.map(String), ['{"a":1}\n{"b":2}\n', '{"local":true}\n', '{"c":3}\n']);
    assert.equal(writes[0]!.buffer, chunk.buffer);
    assert.equal(writes[0]!.byteOffset, chunk.byteOffset);
    assert.equal(writes[2]!.byteOffset, c!.byteOffset);
  });

  it('ends a frame without a line end with one, and starts a new run after it', () => {
    const { out, writes } = recordingOutput();
    const writer = new FrameWriter(out, () => {});
    const chunk = Buffer.from('{"a":1}{"b":2}\n');
    writer.send(chunk.subarray(0, 7));
    writer.send(chunk.subarray(7));
    writer.flush();
    assert.equal(Buffer.concat(writes).toString(), '{"a":1}\n{"b":2}\n');
  });

  it('flushes by itself after the current task, and drops everything once closed', async () => {
    const { out, writes } = recordingOutput();
    const writer = new FrameWriter(out, () => {});
    writer.send(Buffer.from('{"a":1}\n'));
    assert.equal(writes.length, 0, 'not before the microtask');
    await Promise.resolve();
    assert.deepEqual(writes.map(String), ['{"a":1}\n']);
    writer.send(Buffer.from('{"b":2}\n'));
    writer.close();
    writer.send(Buffer.from('{"c":3}\n'));
    writer.flush();
    assert.deepEqual(writes.map(String), ['{"a":1}\n']);
  });
});

describe('FrameWriter flushOn', () => {
  // Counts write batches: a lone write, or the writes between one cork and its uncork.
  function batchingOutput(): { out: Writable; batches: string[][] } {
    const batches: string[][] = [];
    let corked = false;
    const out = {
      writableNeedDrain: false,
      write(chunk: Buffer): boolean {
        if (corked) batches[batches.length - 1]!.push(chunk.toString());
        else batches.push([chunk.toString()]);
        return true;
      },
      cork(): void {
        corked = true;
        batches.push([]);
      },
      uncork(): void {
        corked = false;
      },
    };
    return { out: out as unknown as Writable, batches };
  }
  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('by default writes what one microtask checkpoint queued: frames from two callbacks go out in two writes', async () => {
    const { out, batches } = batchingOutput();
    const writer = new FrameWriter(out, () => assert.fail('no backpressure'));
    writer.send(Buffer.from('{"a":1}\n'));
    await Promise.resolve(); // the end of one I/O callback's microtasks
    writer.send(Buffer.from('{"b":2}\n'));
    await nextTurn();
    assert.deepEqual(batches.map((batch) => batch.join('')), ['{"a":1}\n', '{"b":2}\n']);
  });

  it("with 'turn', writes everything queued in one turn of the event loop as one batch", async () => {
    const { out, batches } = batchingOutput();
    const writer = new FrameWriter(out, () => assert.fail('no backpressure'), 'turn');
    writer.send(Buffer.from('{"a":1}\n'));
    await Promise.resolve();
    writer.send(Buffer.from('{"b":2}\n'));
    assert.deepEqual(batches, [], 'nothing written before the turn ends');
    await nextTurn();
    // One batch (small Buffers may even sit next to each other in one pool slab: then one write).
    assert.deepEqual(batches.map((batch) => batch.join('')), ['{"a":1}\n{"b":2}\n']);
    writer.send(Buffer.from('{"c":3}\n'));
    await nextTurn();
    assert.deepEqual(batches.map((batch) => batch.join('')), ['{"a":1}\n{"b":2}\n', '{"c":3}\n'], 'the next turn is its own batch');
  });
});
