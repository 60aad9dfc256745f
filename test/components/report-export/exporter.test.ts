import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createReportChain, type ReportInput } from '../../../components/execution-report/index.js';
import { countRotatedFiles, shiftRotatedFiles } from '../../../components/execution-report/rotate.js';
import { createReportExport, cursorPathOf, readCursor, type ReportExport, type ReportExportOptions } from '../../../components/report-export/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { transcript } from '../execution-report/reports.js';
import { startOtlpReceiver, type Answer, type OtlpReceiver } from './otlp-receiver.js';

/** `count` report lines of one chain (the session transcript, repeated), from `chain`. */
function reportLines(chain: ReturnType<typeof createReportChain>, count: number): { line: string; digest: string; seq: number }[] {
  const inputs: ReportInput[] = transcript();
  return Array.from({ length: count }, (_, i) => chain.append(inputs[i % inputs.length]!));
}

const appendReports = (path: string, reports: readonly { line: string }[]): void => appendFileSync(path, reports.map((report) => `${report.line}\n`).join(''));

/** Resolves `promise`, firing the fake clock's timers (retry backoff) whenever the exporter waits on one. */
async function driven<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  void promise.then(() => (settled = true), () => (settled = true));
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    const next = clock.pending().sort((a, b) => a.due - b.due)[0];
    if (next !== undefined) clock.advance(next.due - clock.now());
  }
  return promise;
}

interface Setup {
  readonly dir: string;
  readonly file: string;
  readonly clock: FakeClock;
  readonly receiver: OtlpReceiver;
  readonly logs: ReturnType<typeof captureLogs>;
  exporter(options?: Partial<ReportExportOptions>): Promise<ReportExport>;
}

async function setup(answer: (request: number) => Answer = () => 'ok'): Promise<Setup> {
  const dir = tempDir('report-export');
  const file = join(dir, 'reports.ndjson');
  const clock = new FakeClock();
  const receiver = await startOtlpReceiver(answer);
  const logs = captureLogs('info');
  const opened: ReportExport[] = [];
  const { after } = await import('node:test');
  after(async () => {
    for (const exporter of opened) await exporter.close();
    await receiver.close();
  });
  return {
    dir, file, clock, receiver, logs,
    async exporter(options = {}) {
      const exporter = await createReportExport({
        file, url: receiver.url, batch: 512, intervalMs: 100, timeoutMs: 2000, spoolWarnBytes: 64 * 1024 * 1024, rotateKeep: 10,
        logger: logs.logger, clock, random: seededRandom(17), finalFlushMs: 500, ...options,
      });
      opened.push(exporter);
      return exporter;
    },
  };
}

describe('report export (OTLP/HTTP JSON from the report file)', () => {
  it('should ship every line as a log record whose body is the line, with its digest, seq and kind, and commit the cursor after the 2xx', async () => {
    const s = await setup();
    const reports = reportLines(createReportChain(), 5);
    appendReports(s.file, reports);
    const exporter = await s.exporter();
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.requests.map((request) => [request.path, request.contentType]), [['/v1/logs', 'application/json']]);
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.body), reports.map((report) => report.line));
    assert.deepEqual(s.receiver.acknowledged.map((record) => [record.digest, record.seq]), reports.map((report) => [report.digest, report.seq]));
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.kind), reports.map((report) => JSON.parse(report.line).kind));
    const cursor = await readCursor(cursorPathOf(s.file));
    assert.equal(cursor?.offset, readFileSync(s.file).length);
    assert.deepEqual([cursor?.seq, cursor?.digest], [5, reports[4]!.digest]);
    assert.equal(exporter.stats.exported, 5);
    assert.equal(exporter.stats.lagBytes, 0);
  });

  it('should send bounded batches', async () => {
    const s = await setup();
    appendReports(s.file, reportLines(createReportChain(), 10));
    const exporter = await s.exporter({ batch: 4 });
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.requests.map((request) => request.records), [4, 4, 2]);
  });

  it('should retry a failing receiver with backoff on the clock and commit only after it acknowledges', async () => {
    const s = await setup((n) => (n < 3 ? 'fail' : 'ok'));
    const reports = reportLines(createReportChain(), 3);
    appendReports(s.file, reports);
    const exporter = await s.exporter({ backoff: { minMs: 250, maxMs: 1000 } });
    const pass = exporter.exportPending();
    const waits: number[] = [];
    let settled = false;
    void pass.then(() => (settled = true));
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = s.clock.pending()[0];
      if (next === undefined) continue;
      // Waiting for a retry: nothing was acknowledged, so the cursor is still at the start.
      assert.equal((await readCursor(cursorPathOf(s.file)))?.offset ?? 0, 0);
      waits.push(next.ms);
      s.clock.advance(next.ms);
    }
    await pass;
    assert.equal(waits.length, 3);
    // 250 · 2^(n−1) capped at 1000, each within ±20 %.
    [250, 500, 1000].forEach((base, i) => assert.ok(waits[i]! >= base * 0.8 && waits[i]! <= base * 1.2, `wait ${i}: ${waits[i]}`));
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.digest), reports.map((report) => report.digest));
    assert.equal(exporter.stats.failures, 3);
    assert.ok(s.logs.text().includes('the receiver acknowledges again'));
  });

  it('should give up on a stalled request at its deadline and send the batch again', async () => {
    const s = await setup((n) => (n === 0 ? 'stall' : 'ok'));
    const reports = reportLines(createReportChain(), 2);
    appendReports(s.file, reports);
    const exporter = await s.exporter({ timeoutMs: 200 });
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.requests.map((request) => request.answer), ['stall', 'ok']);
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.digest), reports.map((report) => report.digest));
  });

  it('should resume from the committed cursor after a restart, sending only what was not acknowledged', async () => {
    const s = await setup();
    const chain = createReportChain();
    const first = reportLines(chain, 4);
    appendReports(s.file, first);
    const one = await s.exporter();
    await driven(s.clock, one.exportPending());
    await one.close();
    const second = reportLines(chain, 3);
    appendReports(s.file, second);
    const two = await s.exporter();
    await driven(s.clock, two.exportPending());
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.seq), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('should not send a last line before its newline is written', async () => {
    const s = await setup();
    const [a, b] = reportLines(createReportChain(), 2);
    writeFileSync(s.file, `${a!.line}\n${b!.line.slice(0, 40)}`);
    const exporter = await s.exporter();
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.seq), [1]);
    appendFileSync(s.file, `${b!.line.slice(40)}\n`);
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.body), [a!.line, b!.line]);
  });

  it('should follow rotation: the rest of file.1, then the new file', async () => {
    const s = await setup();
    const chain = createReportChain();
    appendReports(s.file, reportLines(chain, 3));
    const exporter = await s.exporter();
    await driven(s.clock, exporter.exportPending());
    appendReports(s.file, reportLines(chain, 2));
    renameSync(s.file, `${s.file}.1`);
    appendReports(s.file, reportLines(chain, 2));
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.seq), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('should keep, at rotation, every file the cursor has not passed (beyond --report-rotate-keep, with a warning), and let them go once passed', async () => {
    const s = await setup(() => 'fail');
    const chain = createReportChain();
    appendReports(s.file, reportLines(chain, 2));
    const exporter = await s.exporter({ rotateKeep: 1 });
    // The receiver is down: nothing is exported while two rotations happen with keep 1.
    for (let round = 0; round < 2; round++) {
      const existing = countRotatedFiles(s.file, 1);
      await shiftRotatedFiles(s.file, 1, existing);
      appendReports(s.file, reportLines(chain, 2));
    }
    assert.ok(existsSync(`${s.file}.2`), 'file.2, beyond keep 1, is kept: the cursor has not passed it');
    assert.ok(s.logs.text().includes('rotation keeps report files beyond --report-rotate-keep'));
    s.receiver.answer = () => 'ok';
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.seq), [1, 2, 3, 4, 5, 6]);
    // Passed now: the next rotation deletes what lies beyond keep.
    await shiftRotatedFiles(s.file, 1, countRotatedFiles(s.file, 1));
    assert.deepEqual([existsSync(`${s.file}.1`), existsSync(`${s.file}.2`), existsSync(`${s.file}.3`)], [true, false, false]);
  });

  it('should warn once when the unexported spool passes the threshold, and say when it is back', async () => {
    const s = await setup((n) => (n < 2 ? 'fail' : 'ok'));
    appendReports(s.file, reportLines(createReportChain(), 20));
    const exporter = await s.exporter({ spoolWarnBytes: 1024 });
    await driven(s.clock, exporter.exportPending());
    const warnings = s.logs.entries.filter((entry) => String(entry['msg']).includes('passed --report-export-spool-warn'));
    assert.equal(warnings.length, 1);
    assert.ok(Number(warnings[0]!['lagBytes']) > 1024);
    await driven(s.clock, exporter.exportPending());
    assert.equal(exporter.stats.lagBytes, 0);
  });

  it('should count records a receiver rejects in a partial success, and move on', async () => {
    const s = await setup(() => ({ partialReject: 1 }));
    appendReports(s.file, reportLines(createReportChain(), 3));
    const exporter = await s.exporter();
    await driven(s.clock, exporter.exportPending());
    assert.equal(exporter.stats.rejected, 1);
    assert.equal((await readCursor(cursorPathOf(s.file)))?.seq, 3);
  });

  it('should export again from the oldest file when the cursor file is unreadable', async () => {
    const s = await setup();
    appendReports(s.file, reportLines(createReportChain(), 2));
    writeFileSync(cursorPathOf(s.file), 'not a cursor');
    const exporter = await s.exporter();
    await driven(s.clock, exporter.exportPending());
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.seq), [1, 2]);
    assert.ok(s.logs.text().includes('the cursor file is unreadable'));
  });

  it('should poll on the clock once started, and ship the closing lines at close', async () => {
    const s = await setup();
    const chain = createReportChain();
    const exporter = await s.exporter({ intervalMs: 100 });
    exporter.start();
    appendReports(s.file, reportLines(chain, 2));
    s.clock.advance(100);
    for (let i = 0; i < 200 && s.receiver.acknowledged.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(s.receiver.acknowledged.length, 2);
    appendReports(s.file, reportLines(chain, 1));
    await exporter.close();
    assert.deepEqual(s.receiver.acknowledged.map((record) => record.seq), [1, 2, 3]);
  });
});
