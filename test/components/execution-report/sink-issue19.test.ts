// Issue 19's sink items: lifecycle reports are never dropped by a full queue and declare the
// drops before them; rotation renames only rotated files that exist; a repeated failure is
// logged once per burst with a count; a pipe or device is never fsynced, with one warning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, rename, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createReportChain, createReporter, openReportFileSink, verifyReportFiles, type ReportInput, type SinkIo,
} from '../../../components/execution-report/index.js';
import { FS_IO } from '../../../components/execution-report/rotate.js';
import { FAILURE_SUMMARY_EVERY_MS } from '../../../components/execution-report/sink.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { chainLines, tempDir, transcript } from './reports.js';

const dir = tempDir();
let files = 0;
const newPath = (): string => join(dir, `s${++files}.ndjson`);
const quiet = { error() {}, warn() {} };

/** Real writes that wait, each, until the test opens the gate: a disk as slow as the test wants. */
function gatedIo() {
  let open = false;
  const waiting: Array<() => void> = [];
  const io: SinkIo = {
    async write(fd, data, offset, length) {
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      return FS_IO.write(fd, data, offset, length);
    },
    fsync: FS_IO.fsync,
  };
  return { io, release: () => { open = true; for (const resolve of waiting.splice(0)) resolve(); } };
}

/** The real rename, every call counted (and failing while `failing()` says so). */
function countingRenames(failing: () => boolean = () => false) {
  const calls: Array<[string, string]> = [];
  const io: SinkIo = {
    write: FS_IO.write,
    fsync: FS_IO.fsync,
    rename: (from, to) => {
      calls.push([from, to]);
      if (failing()) return Promise.reject(Object.assign(new Error(`EACCES: permission denied, rename '${from}'`), { code: 'EACCES' }));
      return new Promise((resolve, reject) => rename(from, to, (error) => (error ? reject(error) : resolve())));
    },
  };
  return { io, calls };
}

const call = (i: number): ReportInput => ({
  kind: 'invocation', direction: 'client-to-server', method: 'tools/call', requestId: String(i), decisions: [], outcome: 'forwarded',
  policy: { name: 'none', revision: 'builtin', digest: `sha256:${'0'.repeat(64)}` }, mode: 'observe', generation: 0,
});
const exit: ReportInput = { kind: 'lifecycle', event: 'exit', detail: { exitCode: 0, signal: null, reason: 'stopped' }, generation: 0 };

describe('drops are declared, lifecycle reports are never dropped', () => {
  it('should queue the exit report in the reserved room while the queue drops, and declare every drop before it', async () => {
    const path = newPath();
    const { io, release } = gatedIo();
    const sink = openReportFileSink({ path, io, fsync: 'never', queueLimit: 4, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain(), sink, { checkpointEvery: 1_000_000 });
    for (let i = 0; i < 40; i++) reporter.report(call(i));
    assert.equal(sink.full, true);
    assert.equal(reporter.undeclaredDrops, 36);
    // Outside the reserve a lifecycle report would be dropped too; inside it, it joins the chain.
    sink.reserved(() => reporter.report(exit));
    assert.equal(reporter.undeclaredDrops, 0);
    assert.equal(sink.full, true, 'the reserve is not room for invocation reports');
    reporter.report(call(40));
    assert.equal(reporter.undeclaredDrops, 1);
    sink.reserved(() => reporter.report({ kind: 'lifecycle', event: 'fatal', detail: { exitCode: 70, reason: 'gave up' }, generation: 0 }));
    release();
    await reporter.close();

    const lines = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const exitLine = lines.find((line) => line.event === 'exit');
    assert.ok(exitLine, 'the exit report is in the file');
    assert.equal(exitLine.dropped, 36);
    assert.equal(lines.find((line) => line.event === 'fatal')?.dropped, 1);
    const result = await verifyReportFiles([path]);
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.equal(result.declaredDrops, 37);
    assert.equal(result.declaredDrops, sink.stats.dropped, 'every drop declared');
    assert.equal(result.reports, 4 + 2);
  });

  it('should bound the reserve too: reserveLines beyond the limit, then even a lifecycle report is dropped (counted and declared)', async () => {
    const path = newPath();
    const { io, release } = gatedIo();
    const sink = openReportFileSink({ path, io, fsync: 'never', queueLimit: 2, reserveLines: 3, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain(), sink, { checkpointEvery: 1_000_000 });
    for (let i = 0; i < 2; i++) reporter.report(call(i));
    for (let i = 0; i < 5; i++) sink.reserved(() => reporter.report(exit));
    assert.equal(sink.stats.queued, 5);
    assert.equal(reporter.undeclaredDrops, 2);
    release();
    await reporter.flush();
    sink.reserved(() => reporter.report(exit));
    await reporter.close();
    const result = await verifyReportFiles([path]);
    assert.equal(result.ok, true);
    assert.equal(result.declaredDrops, 2);
    assert.equal(result.declaredDrops, sink.stats.dropped);
  });
});

describe('rotation renames only the rotated files that exist', () => {
  const lines = chainLines(Array.from({ length: 24 }, (_, i) => transcript()[i % transcript().length]!));
  const rotateBytes = Math.max(...lines.map((line) => line.length)) + 2; // about one line per file

  async function rotateThrough(path: string, keep: number, io: SinkIo) {
    const sink = openReportFileSink({ path, io, fsync: 'never', rotateBytes, rotateKeep: keep }, quiet);
    for (const line of lines) {
      sink.write(line);
      await sink.flush(); // one batch per line: a rotation before every batch but the first
    }
    await sink.close();
    return sink.stats.rotations;
  }

  it('should cost one rename per existing rotated file (keep 1000), not keep − 1', async () => {
    const path = newPath();
    const { io, calls } = countingRenames();
    const rotations = await rotateThrough(path, 1000, io);
    assert.ok(rotations >= 15, `${rotations} rotations`);
    // Rotation r finds r − 1 rotated files: r − 1 shifts, then file → file.1.
    assert.equal(calls.length, (rotations * (rotations + 1)) / 2);
    for (let i = 1; i <= rotations; i++) assert.ok(existsSync(`${path}.${i}`), `${path}.${i}`);
    assert.equal(existsSync(`${path}.${rotations + 1}`), false);
    const chain = [...Array.from({ length: rotations }, (_, i) => `${path}.${rotations - i}`), path];
    assert.equal((await verifyReportFiles(chain)).ok, true);
  });

  it('should cap at keep, replacing the oldest, and count rotated files already there at open', async () => {
    const path = newPath();
    writeFileSync(`${path}.1`, '');
    writeFileSync(`${path}.2`, '');
    const { io, calls } = countingRenames();
    const rotations = await rotateThrough(path, 3, io);
    // The first rotation finds 2 (min(2, keep − 1) = 2 shifts + 1), every later one 3 (2 + 1).
    assert.equal(calls.length, rotations * 3);
    assert.deepEqual(calls.slice(0, 3).map(([from, to]) => [from.slice(path.length), to.slice(path.length)]), [['.2', '.3'], ['.1', '.2'], ['', '.1']]);
    assert.equal(existsSync(`${path}.4`), false);
    assert.equal((await verifyReportFiles([`${path}.3`, `${path}.2`, `${path}.1`, path])).ok, true);
  });
});

describe('a repeated sink failure is logged once per burst, with a count', () => {
  it('should log a failing rotation once, then a summary with the count per interval, then its recovery', async () => {
    const path = newPath();
    let failing = true;
    const { io } = countingRenames(() => failing);
    const clock = new FakeClock();
    const logs = captureLogs('warn');
    const lines = chainLines(Array.from({ length: 60 }, (_, i) => transcript()[i % transcript().length]!));
    const rotateBytes = Math.max(...lines.map((line) => line.length)) + 2;
    const sink = openReportFileSink({ path, io, fsync: 'never', rotateBytes, clock }, logs.logger);
    const batch = async (from: number, to: number): Promise<void> => {
      for (const line of lines.slice(from, to)) {
        sink.write(line);
        await sink.flush();
      }
    };
    await batch(0, 20); // 19 failed rotations
    const rotateLogs = () => logs.entries.filter((entry) => /rotate/.test(String(entry.msg)));
    assert.equal(rotateLogs().length, 1, JSON.stringify(rotateLogs()));
    assert.equal(rotateLogs()[0]!.level, 50);

    clock.advance(FAILURE_SUMMARY_EVERY_MS);
    await batch(20, 40);
    assert.equal(rotateLogs().length, 2, 'one summary in the next interval');
    assert.equal(rotateLogs()[1]!.failures, 20);
    assert.match(String(rotateLogs()[1]!.msg), /still \(20 times in this burst\)/);

    failing = false;
    await batch(40, 42);
    assert.equal(rotateLogs().length, 3);
    assert.equal(rotateLogs()[2]!.level, 40);
    assert.equal(rotateLogs()[2]!.failures, 39);
    assert.match(String(rotateLogs()[2]!.msg), /recovered after 39 failures/);
    await sink.close();
    assert.equal(sink.stats.written, 42, 'nothing lost to the failing rotation');
  });
});

describe('a report file that is not a regular file', () => {
  function countingFsync() {
    const calls = { fsyncs: 0 };
    const io: SinkIo = { write: FS_IO.write, fsync: (fd) => { calls.fsyncs += 1; return FS_IO.fsync(fd); } };
    return { io, calls };
  }

  it('should never fsync a FIFO, and say so once at open', { skip: process.platform !== 'linux' && 'mkfifo: Linux' }, async () => {
    const fifo = join(dir, `fifo${++files}`);
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // The reading end first, so opening the writing end does not wait for a reader.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const { io, calls } = countingFsync();
    const logs = captureLogs('warn');
    const sink = openReportFileSink({ path: fifo, io, fsync: 'always' }, logs.logger);
    const lines = chainLines(transcript().slice(0, 3));
    for (const line of lines) sink.write(line);
    await sink.flush();
    const buffer = Buffer.alloc(64 * 1024);
    const read = readSync(reader, buffer);
    assert.equal(buffer.subarray(0, read).toString(), `${lines.join('\n')}\n`);
    await sink.close();
    closeSync(reader);
    assert.equal(calls.fsyncs, 0);
    assert.equal(logs.entries.length, 1, JSON.stringify(logs.entries));
    assert.match(String(logs.entries[0]!.msg), /not a regular file .*never fsynced/);
  });

  it('should never fsync /dev/null on the interval either, and log nothing after the one warning', async () => {
    const { io, calls } = countingFsync();
    const logs = captureLogs('warn');
    const clock = new FakeClock();
    const sink = openReportFileSink({ path: '/dev/null', io, fsync: 'interval', fsyncIntervalMs: 10, clock }, logs.logger);
    for (let i = 0; i < 5; i++) {
      sink.write(chainLines(transcript().slice(0, 1))[0]!);
      await sink.flush();
      clock.advance(10);
    }
    await sink.close();
    assert.equal(calls.fsyncs, 0);
    assert.equal(clock.pending().length, 0, 'no fsync timer');
    assert.equal(logs.entries.length, 1, JSON.stringify(logs.entries));
  });
});
