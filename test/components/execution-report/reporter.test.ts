import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  createReportChain, createReporter, openReportFileSink, runReportVerify, verifyReportFiles, type SinkIo,
} from '../../../components/execution-report/index.js';
import { FS_IO } from '../../../components/execution-report/rotate.js';
import { capture, tempDir, transcript } from './reports.js';

const dir = tempDir();
const quiet = { error() {}, warn() {} };
const slow: SinkIo = { write: async (...args) => (await sleep(20), FS_IO.write(...args)), fsync: FS_IO.fsync };

describe('reporter (chain + sink)', () => {
  it('should, under drop, drop a report before it joins the chain, and declare the drops in the next report written: the chain stays intact', async () => {
    const path = join(dir, 'drop.ndjson');
    const sink = openReportFileSink({ path, io: slow, queueLimit: 2, onOverflow: 'drop' }, quiet);
    const reporter = createReporter(createReportChain(), sink);
    const inputs = transcript();
    for (const input of inputs.slice(0, 5)) assert.equal(reporter.report(input), undefined);
    assert.equal(reporter.undeclaredDrops, 3);
    assert.equal(sink.stats.dropped, 3);
    await reporter.flush();
    reporter.report(inputs[5]!);
    await reporter.close();

    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.reports, 3);
    assert.equal(result.declaredDrops, 3);
    const out = capture();
    assert.equal(await runReportVerify([path], { stdout: out, stderr: out }), 0);
    assert.match(out.text, /^ok 3 reports, 1 checkpoint, chain intact, 3 declared dropped\n/);
  });

  it('should, under block, hand back the sink\'s promise and lose nothing', async () => {
    const path = join(dir, 'block.ndjson');
    const sink = openReportFileSink({ path, io: slow, queueLimit: 2 }, quiet);
    const appended: number[] = [];
    const reporter = createReporter(createReportChain(), sink, { onAppend: (report) => appended.push(report.seq) });
    const waits = transcript().map((input) => reporter.report(input));
    assert.deepEqual(waits.map((wait) => wait instanceof Promise), [false, false, ...Array(transcript().length - 2).fill(true)]);
    await Promise.all(waits);
    await reporter.close();
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.reports, transcript().length);
    assert.deepEqual(appended, transcript().map((_, i) => i + 1));
    // The reports, then the checkpoint close wrote: the chain's last line, which says the file ended cleanly.
    assert.equal((result.last as { seq: number }).seq, transcript().length + 1);
    assert.deepEqual([result.checkpoints, result.closed, result.uncovered], [1, true, 0]);
  });
});
