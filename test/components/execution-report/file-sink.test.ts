import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  createReportChain, lastReportInFile, openReportFileSink, verifyReportFiles, type ExecutionReport, type SinkIo,
} from '../../../components/execution-report/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { chainLines, tempDir, transcript, writeLines } from './reports.js';
import { sidecarErrorMessage } from '../../helpers/sidecar-error.js';

const dir = tempDir();
let files = 0;
const newPath = (): string => join(dir, `r${++files}.ndjson`);
const quiet = { error() {}, warn() {} };
const many = (n: number): string[] => chainLines(Array.from({ length: n }, (_, i) => transcript()[i % transcript().length]!));

const sinkError = (run: () => unknown): string => sidecarErrorMessage(run, 'SIDECAR_ERR_REPORT_SINK');

/** The real file operations, slowed down, or failing while `failing()` says so; every call on record. */
function fakeIo({ delayMs = 0, failing = () => false }: { delayMs?: number; failing?: () => boolean } = {}) {
  const calls = { writes: 0, fsyncs: 0 };
  const real = (async () => (await import('../../../components/execution-report/rotate.js')).FS_IO)();
  const io: SinkIo = {
    async write(fd, data, offset, length) {
      calls.writes += 1;
      if (delayMs > 0) await sleep(delayMs);
      if (failing()) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      return (await real).write(fd, data, offset, length);
    },
    async fsync(fd) {
      calls.fsyncs += 1;
      return (await real).fsync(fd);
    },
  };
  return { io, calls };
}

describe('report file sink', () => {
  it('should append one line per report, batch what was queued in the same turn into one write, and resume the chain', async () => {
    const path = newPath();
    const lines = many(5);
    const sink = openReportFileSink({ path }, quiet);
    assert.equal(sink.resume, undefined);
    for (const line of lines) assert.equal(sink.write(line), true);
    assert.equal(sink.stats.queued, 5);
    await sink.flush();
    assert.deepEqual({ written: sink.stats.written, batches: sink.stats.batches, queued: sink.stats.queued }, { written: 5, batches: 1, queued: 0 });
    await sink.close();
    assert.equal(readFileSync(path, 'utf8'), `${lines.join('\n')}\n`);

    const last = JSON.parse(lines[4]!) as ExecutionReport;
    assert.deepEqual(lastReportInFile(path), { seq: 5, digest: last.digest });
    const again = openReportFileSink({ path }, quiet);
    assert.deepEqual(again.resume, { seq: 5, digest: last.digest });
    const chain = createReportChain({ prevDigest: again.resume!.digest, nextSeq: again.resume!.seq + 1 });
    again.write(chain.append(transcript()[1]!).line);
    await again.close();
    assert.equal(again.write('late'), false, 'closed: refused');
    assert.equal(again.stats.dropped, 1);
    assert.deepEqual((await verifyReportFiles([path])).problems, []);
  });

  it('should fail at open, clearly, on a missing directory, a directory, an unwritable file, no space, or a last line that is no report', () => {
    assert.match(sinkError(() => openReportFileSink({ path: join(dir, 'no-such-dir', 'r.ndjson') }, quiet)), /The execution report file cannot be written: .*no-such-dir\/r\.ndjson: ENOENT/);
    assert.match(sinkError(() => openReportFileSink({ path: dir }, quiet)), /EISDIR/);
    if (process.getuid?.() !== 0) {
      const locked = newPath();
      writeFileSync(locked, '');
      chmodSync(locked, 0o444);
      assert.match(sinkError(() => openReportFileSink({ path: locked }, quiet)), /EACCES/);
    }
    assert.match(sinkError(() => openReportFileSink({ path: newPath(), minFreeBytes: Number.MAX_SAFE_INTEGER }, quiet)), /no space left on the device/);
    const notReports = writeLines(newPath(), ['{"hello":"world"}']);
    assert.match(sinkError(() => openReportFileSink({ path: notReports }, quiet)), /the last line is not an execution report/);
  });

  it('should cut off an incomplete last line at open (a writer killed mid-line), say so, and continue from the last complete report', async () => {
    const path = newPath();
    const lines = many(3);
    writeFileSync(path, `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 40)}`);
    const logs = captureLogs('warn');
    const sink = openReportFileSink({ path }, logs.logger);
    assert.equal(sink.resume?.seq, 2);
    assert.match(logs.text(), /incomplete line \(an interrupted write\)/);
    assert.equal(logs.entries[0]?.removedBytes, 40);
    const chain = createReportChain({ prevDigest: sink.resume!.digest, nextSeq: 3, clock: () => 0 });
    sink.write(chain.append(transcript()[2]!).line);
    await sink.close();
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.reports, 3);
  });

  it('should take lines as bytes (copied at once: the caller reuses its buffer), as strings, of any length, and keep their order', async () => {
    const path = newPath();
    const sink = openReportFileSink({ path, fsync: 'never' }, quiet);
    const reused = Buffer.alloc(64);
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      const line = i % 3 === 0 ? `{"n":${i},"text":"é ✓ ${'x'.repeat(i * 13)}"}` : `{"n":${i}}`;
      expected.push(line);
      if (i % 2 === 0) {
        sink.write(line);
      } else {
        const bytes = Buffer.byteLength(line) <= reused.length ? reused.subarray(0, reused.write(line)) : Buffer.from(line);
        sink.write(bytes);
        bytes.fill(0x21); // the caller writes over its buffer at once, as the report chain does
      }
      if (i % 50 === 0) await sink.flush(); // batches while lines wait, and a buffer reused after a write
    }
    sink.write(`{"long":"${'y'.repeat(300_000)}"}`); // past the queue's first buffer
    expected.push(`{"long":"${'y'.repeat(300_000)}"}`);
    await sink.close();
    assert.equal(readFileSync(path, 'utf8'), `${expected.join('\n')}\n`);
    assert.equal(sink.stats.written, 301);
    assert.equal(sink.stats.bytes, readFileSync(path).length);
  });

  it('should rotate by size between whole lines, keep N files, and keep the chain across them', async () => {
    const path = newPath();
    const lines = many(40);
    const sink = openReportFileSink({ path, rotateBytes: 4096, rotateKeep: 3, fsync: 'never' }, quiet);
    for (const [i, line] of lines.entries()) {
      sink.write(line);
      if (i % 7 === 0) await sink.flush(); // batches of different sizes
    }
    await sink.close();
    assert.ok(sink.stats.rotations >= 4, `rotations: ${sink.stats.rotations}`);
    assert.ok(!existsSync(`${path}.4`), 'only 3 rotated files kept');
    const kept = [`${path}.3`, `${path}.2`, `${path}.1`, path];
    for (const file of kept.slice(0, 3)) assert.ok(readFileSync(file).length <= 4096, `${file} within rotateBytes`);
    const result = await verifyReportFiles(kept);
    assert.deepEqual(result.problems, []);
    for (const file of kept) assert.equal(statSync(file).mode & 0o777, 0o600, `${file}: reports are the proxy user's alone`);
    const firstOfNew = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!) as ExecutionReport;
    const lastOfOld = JSON.parse(readFileSync(`${path}.1`, 'utf8').trim().split('\n').at(-1)!) as ExecutionReport;
    assert.equal(firstOfNew.prevDigest, lastOfOld.digest);
    assert.equal(result.last?.seq, 40);
    assert.ok((result.first?.seq ?? 0) > 1, 'the oldest files are gone: the chain starts mid-way');
    assert.deepEqual((await verifyReportFiles([`${path}.1`, path])).problems, [], 'any suffix of the files verifies');
  });

  it('should, under onOverflow block, queue past the limit and return a promise that resolves when there is room', async () => {
    const path = newPath();
    const { io } = fakeIo({ delayMs: 30 });
    const sink = openReportFileSink({ path, io, queueLimit: 2, onOverflow: 'block' }, quiet);
    const lines = many(6);
    assert.equal(sink.write(lines[0]!), true);
    assert.equal(sink.write(lines[1]!), true);
    assert.equal(sink.full, true);
    const blocked = sink.write(lines[2]!);
    assert.ok(blocked instanceof Promise, 'the third write waits');
    let resolved = false;
    void blocked.then(() => (resolved = true));
    await sleep(5);
    assert.equal(resolved, false, 'still waiting while the slow write is in flight');
    await blocked;
    assert.ok(sink.stats.queued < 2, `room again: ${sink.stats.queued} queued`);
    for (const line of lines.slice(3)) await sink.write(line);
    await sink.close();
    assert.equal(sink.stats.dropped, 0);
    assert.equal(readFileSync(path, 'utf8'), `${lines.join('\n')}\n`, 'nothing lost, in order');
  });

  it('should, under onOverflow drop, refuse and count what does not fit, log it once, and say when it keeps up again', async () => {
    const path = newPath();
    const { io } = fakeIo({ delayMs: 20 });
    const logs = captureLogs('warn');
    const sink = openReportFileSink({ path, io, queueLimit: 2, onOverflow: 'drop' }, logs.logger);
    const results = many(6).map((line) => sink.write(line));
    assert.deepEqual(results, [true, true, false, false, false, false]);
    assert.equal(sink.stats.dropped, 4);
    await sink.close();
    assert.equal(sink.stats.written, 2);
    const levels = logs.entries.map((entry) => [entry.level, entry.msg]);
    assert.deepEqual(levels.map(([level]) => level), [50, 40], JSON.stringify(levels));
    assert.match(String(levels[0]![1]), /cannot keep up; dropping reports/);
    assert.match(String(levels[1]![1]), /keeps up again; 4 reports were dropped/);
  });

  it('should count write failures during the run, log them once per burst, never throw to the caller, and go on', async () => {
    const path = newPath();
    let fail = false;
    const { io } = fakeIo({ failing: () => fail });
    const logs = captureLogs('warn');
    const sink = openReportFileSink({ path, io }, logs.logger);
    const lines = many(6);
    sink.write(lines[0]!);
    await sink.flush();
    fail = true;
    sink.write(lines[1]!);
    await sink.flush();
    sink.write(lines[2]!);
    sink.write(lines[3]!);
    await sink.flush();
    fail = false;
    sink.write(lines[4]!);
    await sink.close();
    assert.deepEqual({ written: sink.stats.written, failures: sink.stats.failures }, { written: 2, failures: 3 });
    assert.deepEqual(logs.entries.map((entry) => entry.level), [50, 40], 'one error for the burst, one warning at recovery');
    assert.match(logs.text(), /cannot write reports; they are being lost/);
    assert.match(logs.text(), /writing again; 3 reports were lost/);
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems.map((p) => [p.line, p.kind]), [[2, 'chain'], [2, 'sequence']], 'the gap shows');
  });

  it('should count a disk that is full during the run (/dev/full)', { skip: !existsSync('/dev/full') }, async () => {
    const logs = captureLogs('warn');
    const sink = openReportFileSink({ path: '/dev/full', fsync: 'never' }, logs.logger);
    for (const line of many(3)) sink.write(line);
    await sink.close();
    assert.equal(sink.stats.failures, 3);
    assert.match(logs.text(), /ENOSPC/);
  });

  it('should fsync per policy: after every write (always), on an interval when something was written, or never', async () => {
    // The interval runs on an injected clock: `wait` ms pass exactly, with no sleep.
    const run = async (fsync: 'always' | 'interval' | 'never', wait = 0) => {
      const { io, calls } = fakeIo();
      const clock = new FakeClock();
      const sink = openReportFileSink({ path: newPath(), io, fsync, fsyncIntervalMs: 10, clock }, quiet);
      for (const line of many(2)) {
        sink.write(line);
        await sink.flush();
      }
      clock.advance(wait);
      await sink.flush();
      const beforeClose = calls.fsyncs;
      await sink.close();
      return { beforeClose, total: calls.fsyncs, writes: calls.writes };
    };
    assert.deepEqual(await run('always'), { beforeClose: 2, total: 2, writes: 2 });
    const interval = await run('interval', 60);
    assert.equal(interval.beforeClose, 1, 'one fsync for both writes, none while idle');
    assert.equal(interval.total, 1, 'nothing new to sync at close');
    assert.deepEqual(await run('never', 30), { beforeClose: 0, total: 0, writes: 2 });
  });

  it('should keep the queue cheap to use: 10,000 writes in a turn become a few writes', async () => {
    const path = newPath();
    mkdirSync(dir, { recursive: true });
    const sink = openReportFileSink({ path, fsync: 'never', queueLimit: 100_000 }, quiet);
    const line = many(1)[0]!;
    for (let i = 0; i < 10_000; i++) sink.write(line);
    await sink.close();
    assert.equal(sink.stats.written, 10_000);
    assert.equal(sink.stats.batches, 1);
  });
});
