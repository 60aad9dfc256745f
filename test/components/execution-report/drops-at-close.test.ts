// Issue 19, item 4: drops that no report follows are declared by a checkpoint — always the
// closing one — so a cleanly closed file declares exactly what the sink dropped, and
// `report verify` says so on its OK line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createReportChain, createReporter, loadPublicKey, loadSigningKey, openReportFileSink, runReportVerify, verifyReportFiles, type SinkIo,
} from '../../../components/execution-report/index.js';
import { checkpointSchema } from '../../../components/execution-report/schema.js';
import { FS_IO } from '../../../components/execution-report/rotate.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { capture, fakeClock, keyFiles, tempDir, transcript } from './reports.js';

const dir = tempDir();
const keys = keyFiles(dir);
const quiet = { error() {}, warn() {} };
let files = 0;
const nextPath = (): string => join(dir, `drops${++files}.ndjson`);
const readJson = (path: string): Array<Record<string, unknown>> => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

/**
 * A disk that takes a write only when the test lets it: the queue stays full exactly as long as
 * the test wants, with no timing involved.
 */
function heldIo(): { io: SinkIo; release(): void } {
  let held = true;
  const waiting: Array<() => void> = [];
  return {
    io: {
      write: async (...args) => {
        if (held) await new Promise<void>((resolve) => waiting.push(resolve));
        return FS_IO.write(...args);
      },
      fsync: FS_IO.fsync,
    },
    release() {
      held = false;
      for (const resume of waiting.splice(0)) resume();
    },
  };
}

async function verifyOutput(path: string, ...extra: string[]): Promise<{ code: number; text: string }> {
  const out = capture();
  const code = await runReportVerify([path, ...extra], { stdout: out, stderr: out });
  return { code, text: out.text };
}

describe('drops declared at close', () => {
  it('should declare, in the closing checkpoint, the drops that came after the last report written', async () => {
    const path = nextPath();
    const disk = heldIo();
    const sink = openReportFileSink({ path, io: disk.io, queueLimit: 2, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain({ clock: fakeClock() }), sink);
    const inputs = transcript();
    // Two queued, the rest dropped while the disk holds the first write: no report follows them.
    for (const input of inputs.slice(0, 7)) reporter.report(input);
    assert.equal(sink.stats.dropped, 5);
    assert.equal(reporter.undeclaredDrops, 5);

    const closing = reporter.close();
    disk.release();
    await closing;

    assert.equal(reporter.undeclaredDrops, 0);
    const lines = readJson(path);
    assert.deepEqual(lines.map((line) => line['kind']), ['lifecycle', 'invocation', 'checkpoint']);
    const closingLine = lines.at(-1)!;
    assert.equal(closingLine['reason'], 'close');
    assert.equal(closingLine['dropped'], 5);
    assert.equal(closingLine['reports'], 2);
    assert.equal(checkpointSchema.safeParse(closingLine).success, true);

    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.declaredDrops, sink.stats.dropped, 'the file declares exactly what the sink dropped');
    assert.equal(result.closed, true);
    const { code, text } = await verifyOutput(path);
    assert.equal(code, 0);
    assert.match(text, /^ok 2 reports, 1 checkpoint, chain intact, 5 declared dropped\n/);
    assert.doesNotMatch(text, /note:/, 'a cleanly closed file with declared drops needs no note');
  });

  it('should count drops declared by reports and by the closing checkpoint alike: the total equals the sink\'s count', async () => {
    const path = nextPath();
    let disk = heldIo();
    // The disk is swapped between bursts: each burst overflows a held disk, then it drains.
    const io: SinkIo = { write: (...args) => disk.io.write(...args), fsync: FS_IO.fsync };
    const sink = openReportFileSink({ path, io, queueLimit: 3, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain({ clock: fakeClock() }), sink);
    const inputs = transcript();
    for (const input of inputs) reporter.report(input); // 3 queued, the rest dropped
    const firstBurst = sink.stats.dropped;
    disk.release();
    await reporter.flush();
    disk = heldIo();
    for (const input of inputs.slice(0, 6)) reporter.report(input); // the first declares the first burst
    const closing = reporter.close();
    disk.release();
    await closing;

    const lines = readJson(path);
    const declaredByReports = lines.filter((line) => line['kind'] !== 'checkpoint').reduce((sum, line) => sum + ((line['dropped'] as number | undefined) ?? 0), 0);
    assert.equal(declaredByReports, firstBurst);
    assert.equal(lines.at(-1)!['dropped'], 3, 'the second burst: 6 reported, 3 queued, 3 dropped after the last report');
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.declaredDrops, sink.stats.dropped);
    assert.match((await verifyOutput(path)).text, new RegExp(`^ok 6 reports, 1 checkpoint, chain intact, ${sink.stats.dropped} declared dropped\\n`));
  });

  it('should write no dropped field when nothing was dropped, and keep the signature valid when it declares some', async () => {
    const clean = nextPath();
    const cleanSink = openReportFileSink({ path: clean, queueLimit: 100, onOverflow: 'drop' }, quiet);
    const cleanReporter = createReporter(createReportChain({ clock: fakeClock() }), cleanSink);
    for (const input of transcript().slice(0, 3)) cleanReporter.report(input);
    await cleanReporter.close();
    assert.equal('dropped' in readJson(clean).at(-1)!, false);
    assert.match((await verifyOutput(clean)).text, /^ok 3 reports, 1 checkpoint, chain intact\n/);

    const signed = nextPath();
    const disk = heldIo();
    const sink = openReportFileSink({ path: signed, io: disk.io, queueLimit: 1, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain({ clock: fakeClock(), signer: loadSigningKey(keys.privatePath) }), sink, { clock: new FakeClock(), checkpointIntervalMs: 0 });
    for (const input of transcript().slice(0, 4)) reporter.report(input);
    const closing = reporter.close();
    disk.release();
    await closing;
    assert.equal(readJson(signed).at(-1)!['dropped'], 3);
    const result = await verifyReportFiles([signed], { publicKey: loadPublicKey(keys.publicPath) });
    assert.deepEqual(result.problems, []);
    assert.equal(result.signaturesValid, 1);
    const { code, text } = await verifyOutput(signed, '--public-key', keys.publicPath);
    assert.equal(code, 0);
    assert.match(text, /^ok 1 report, 1 checkpoint, chain intact, 3 declared dropped, signatures valid\n/);
  });

  it('should declare the drops in an interval checkpoint that falls due before any report follows them', async () => {
    const path = nextPath();
    const disk = heldIo();
    const clock = new FakeClock();
    const sink = openReportFileSink({ path, io: disk.io, queueLimit: 2, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain({ clock: fakeClock(), signer: loadSigningKey(keys.privatePath) }), sink, { clock, checkpointIntervalMs: 1000 });
    for (const input of transcript().slice(0, 5)) reporter.report(input);
    disk.release();
    await reporter.flush();
    clock.advance(1000); // the queue has room again: the interval checkpoint is written, with the drops
    assert.equal(reporter.undeclaredDrops, 0);
    await reporter.flush();
    const interval = readJson(path).at(-1)!;
    assert.deepEqual([interval['kind'], interval['reason'], interval['dropped']], ['checkpoint', 'interval', 3]);
    await reporter.close();
    const lines = readJson(path);
    assert.equal('dropped' in lines.at(-1)!, false, 'declared once, not again at close');
    assert.equal((await verifyReportFiles([path])).declaredDrops, sink.stats.dropped);
  });

  it('should refuse a dropped count that is not an integer ≥ 1 (a bug in the caller, not a line)', () => {
    const chain = createReportChain({ clock: fakeClock() });
    assert.throws(() => chain.checkpoint('close', 0), /dropped must be an integer ≥ 1/);
    assert.throws(() => chain.checkpoint('close', 1.5), /dropped must be an integer ≥ 1/);
    assert.equal(chain.nextSeq, 1, 'nothing joined the chain');
  });
});
