// Issue 19, "a report before its answer": the client channel's writes are held until the report
// batch queued before them is written (fsync `always`: and fsynced), one batch releasing a whole
// routing pass (a group commit); a failing sink releases (fail open, logged and counted); `never`
// does not hold.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createWriteQueue, openReportFileSink, type SinkIo, type SinkTarget } from '../../../components/execution-report/index.js';
import { FS_IO } from '../../../components/execution-report/rotate.js';
import { holdUntilSettled, type FrameChannel, type FrameChannelHandlers, type HoldGate } from '../../../components/transport/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from './reports.js';

const quiet = { error() {}, warn() {} };
const dir = tempDir();
let files = 0;
const newPath = (): string => join(dir, `d${++files}.ndjson`);

/** Lets every pending microtask, and `turns` turns of the event loop (the queue's writer runs on setImmediate), run. */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A client channel that records what reaches it. */
function recordingChannel() {
  const sent: string[] = [];
  const calls = { endOutput: 0, close: 0, drained: 0 };
  let handlers: FrameChannelHandlers | undefined;
  const channel: FrameChannel = {
    start: (h) => void (handlers = h),
    send: (line) => void sent.push(line.toString()),
    pause() {},
    resume() {},
    drained: () => {
      calls.drained += 1;
      return Promise.resolve();
    },
    endOutput: () => void (calls.endOutput += 1),
    close: () => void (calls.close += 1),
  };
  return { channel, sent, calls, handlers: () => handlers! };
}

/** A sink target whose writes complete (or fail) only when the test says so. */
function manualTarget() {
  const writes: Array<{ data: string; done: () => void; fail: (error: Error) => void }> = [];
  const target: SinkTarget = {
    room: () => Infinity,
    prepare: async () => {},
    write: (data) => new Promise<void>((resolve, reject) => writes.push({ data: data.toString(), done: resolve, fail: reject })),
    close: async () => {},
  };
  return { target, writes };
}

const frame = (id: number): Buffer => Buffer.from(`{"jsonrpc":"2.0","id":${id},"result":{}}\n`);
const noHandlers: FrameChannelHandlers = {
  onFrame() {}, onOversized() {}, onEnd() {}, onWriteError() {}, onCongested() {}, onDrained() {},
};

describe('answers held until their reports are written (group commit)', () => {
  it('should release a held write exactly when its batch is written, one write for the whole pass', async () => {
    const { target, writes } = manualTarget();
    const queue = createWriteQueue(target, {}, quiet, 'test');
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, queue.gate);
    held.start(noHandlers);
    // One routing pass: ten answers, each with its report queued after it (as the pump does).
    for (let id = 1; id <= 10; id++) {
      held.send(frame(id));
      queue.write(`{"report":${id}}`);
    }
    await settle();
    assert.equal(writes.length, 1, 'the pass\'s ten reports go out as one write');
    assert.equal(writes[0]!.data.split('\n').length - 1, 10);
    assert.deepEqual(client.sent, [], 'no answer leaves before its report is written');
    writes[0]!.done();
    await settle(1);
    assert.equal(client.sent.length, 10, 'the batch written releases all ten');
    assert.deepEqual(client.sent.map((line) => JSON.parse(line).id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(queue.stats.batches, 1);
  });

  it('should hold a later pass until its own batch, and keep the order of every answer', async () => {
    const { target, writes } = manualTarget();
    const queue = createWriteQueue(target, {}, quiet, 'test');
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, queue.gate);
    held.start(noHandlers);
    held.send(frame(1));
    queue.write('{"report":1}');
    await settle();
    assert.equal(writes.length, 1);
    // A second pass while the first batch is on its way to the disk.
    held.send(frame(2));
    queue.write('{"report":2}');
    await settle();
    writes[0]!.done();
    await settle();
    assert.deepEqual(client.sent.map((line) => JSON.parse(line).id), [1], 'the second answer waits for the second batch');
    assert.equal(writes.length, 2);
    // A pass with no report of its own still leaves after the answers before it.
    held.send(frame(3));
    await settle();
    assert.deepEqual(client.sent.map((line) => JSON.parse(line).id), [1]);
    writes[1]!.done();
    await settle();
    assert.deepEqual(client.sent.map((line) => JSON.parse(line).id), [1, 2, 3]);
  });

  it('should pass answers straight through when no report is outstanding', async () => {
    const { target } = manualTarget();
    const queue = createWriteQueue(target, {}, quiet, 'test');
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, queue.gate);
    held.send(frame(1));
    assert.deepEqual(client.sent, [], 'cut after the routing pass, not at send');
    await Promise.resolve();
    assert.equal(client.sent.length, 1);
  });

  it('should release the held answers when the sink fails to write them (fail open), logged once and counted', async () => {
    const { target, writes } = manualTarget();
    const errors: string[] = [];
    const queue = createWriteQueue(target, {}, { error: (_details, message) => void errors.push(message), warn() {} }, 'test');
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, queue.gate);
    for (let id = 1; id <= 3; id++) {
      held.send(frame(id));
      queue.write(`{"report":${id}}`);
    }
    await settle();
    writes[0]!.fail(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
    await settle();
    assert.equal(client.sent.length, 3, 'a broken disk does not hold answers');
    assert.equal(queue.stats.failures, 3);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /cannot write reports/);
  });

  it('should release everything held when the sink closes', async () => {
    const gate: HoldGate & { release?: () => void } = {
      pendingTicket: () => 1,
      whenSettled(_ticket, release) {
        gate.release = release;
      },
    };
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, gate);
    held.send(frame(1));
    let drained = false;
    const draining = held.drained().then(() => (drained = true));
    held.endOutput();
    await settle();
    assert.equal(drained, false, 'drained waits for the held answers');
    assert.equal(client.calls.endOutput, 0, 'the output ends after the held answers, not before');
    gate.release!();
    await draining;
    assert.deepEqual(client.sent.length, 1);
    assert.equal(client.calls.endOutput, 1);
  });

  it('should pass a local reply a channel asks for straight through (HTTP takes it synchronously)', () => {
    const gate: HoldGate = { pendingTicket: () => 1, whenSettled() {} };
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, gate);
    held.start({ ...noHandlers, onLocalReply: () => held.send(frame(9)) });
    client.handlers().onLocalReply!({ id: '9', key: '9' }, 'SIDECAR_ERR_ID_IN_FLIGHT', 'test');
    assert.equal(client.sent.length, 1);
  });

  it('should drop held answers on close', async () => {
    const gate: HoldGate & { release?: () => void } = { pendingTicket: () => 1, whenSettled: (_t, release) => void (gate.release = release) };
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, gate);
    held.send(frame(1));
    await settle(1);
    held.close();
    gate.release!();
    assert.deepEqual(client.sent, []);
    assert.equal(client.calls.close, 1);
  });
});

describe('the report file sink\'s gate, per fsync mode', () => {
  /** The real file operations, each fsync waiting until the test lets it finish. */
  function gatedFsyncIo() {
    const fsyncs: Array<() => void> = [];
    const io: SinkIo = {
      write: FS_IO.write,
      fsync: (fd) => new Promise<void>((resolve, reject) => fsyncs.push(() => void FS_IO.fsync(fd).then(resolve, reject))),
    };
    return { io, fsyncs };
  }

  it('always: should release an answer only after its report is written and fsynced', async () => {
    const path = newPath();
    const { io, fsyncs } = gatedFsyncIo();
    const sink = openReportFileSink({ path, fsync: 'always', io, clock: new FakeClock() }, quiet);
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, sink.gate!);
    held.send(frame(1));
    sink.write('{"report":1}');
    for (let i = 0; i < 5000 && fsyncs.length === 0; i++) await settle(1);
    assert.equal(fsyncs.length, 1, 'the batch was written and its fsync started');
    assert.equal(readFileSync(path, 'utf8'), '{"report":1}\n');
    assert.deepEqual(client.sent, [], 'written but not yet fsynced: still held');
    fsyncs[0]!();
    for (let i = 0; i < 5000 && client.sent.length === 0; i++) await settle(1);
    assert.equal(client.sent.length, 1);
    await sink.close();
  });

  it('interval: should release an answer once its report is written, without waiting for an fsync', async () => {
    const path = newPath();
    const { io, fsyncs } = gatedFsyncIo();
    const clock = new FakeClock();
    const sink = openReportFileSink({ path, fsync: 'interval', io, clock }, quiet);
    const client = recordingChannel();
    const held = holdUntilSettled(client.channel, sink.gate!);
    held.send(frame(1));
    sink.write('{"report":1}');
    for (let i = 0; i < 5000 && client.sent.length === 0; i++) await settle(1);
    assert.equal(client.sent.length, 1);
    assert.equal(readFileSync(path, 'utf8'), '{"report":1}\n', 'the report is in the file (the page cache survives a SIGKILL)');
    assert.equal(fsyncs.length, 0, 'no fsync was waited for');
    clock.advance(1000);
    await settle();
    assert.equal(fsyncs.length, 1, 'the interval fsync comes on its own');
    fsyncs[0]!();
    await sink.close();
  });

  it('never: should have no gate, so answers are never held', async () => {
    const sink = openReportFileSink({ path: newPath(), fsync: 'never', clock: new FakeClock() }, quiet);
    assert.equal(sink.gate, undefined);
    await sink.close();
  });
});
