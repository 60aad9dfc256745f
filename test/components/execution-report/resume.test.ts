// A writer that continues an existing chain (a restart) starts with a `chain_resumed` record
// naming the line it continues from; verify holds that record to the line before it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createReportChain, createReporter, openReportFileSink, runReportVerify, verifyReportFiles, type ReportInput,
} from '../../../components/execution-report/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { capture, fakeClock, tempDir, transcript, writeLines } from './reports.js';

const dir = tempDir();
const quiet = { error() {}, warn() {} };
let files = 0;
const parse = (line: string): Record<string, any> => JSON.parse(line) as Record<string, any>;
const linesOf = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);

/** One run of the proxy's reporter on `path`, continuing what is there, as the runtime wires it. */
async function run(path: string, inputs: readonly ReportInput[]): Promise<{ reservedCalls: number }> {
  const sink = openReportFileSink({ path }, quiet);
  const chain = createReportChain({ clock: fakeClock(), prevDigest: sink.resume?.digest ?? null, nextSeq: (sink.resume?.seq ?? 0) + 1 });
  let reservedCalls = 0;
  const reserved = <T>(work: () => T): T => {
    reservedCalls += 1;
    return sink.reserved(work);
  };
  const reporter = createReporter(chain, sink, { clock: new FakeClock(), resumedFrom: sink.resume, reserved });
  for (const input of inputs) await reporter.report(input);
  await reporter.close();
  return { reservedCalls };
}

describe('chain_resumed', () => {
  it('should start a continued chain with a chain_resumed record naming the previous run\'s last line, through the reserved room', async () => {
    const path = join(dir, `runs${++files}.ndjson`);
    const first = await run(path, transcript().slice(0, 4));
    assert.equal(first.reservedCalls, 0, 'a new chain has nothing to resume');
    const firstRun = linesOf(path).map(parse);
    assert.notEqual(firstRun[0]!['event'], 'chain_resumed');
    const previous = firstRun.at(-1)!;

    const second = await run(path, transcript().slice(4, 8));
    assert.equal(second.reservedCalls, 1, 'written through the lifecycle reserve');
    const all = linesOf(path).map(parse);
    const resumed = all[firstRun.length]!;
    assert.deepEqual(
      [resumed['kind'], resumed['event'], resumed['detail'], resumed['prevDigest'], resumed['seq'], resumed['generation']],
      ['lifecycle', 'chain_resumed', { previousDigest: previous['digest'], previousSeq: previous['seq'] }, previous['digest'], previous['seq'] + 1, 0],
    );
    // The second run's closing checkpoint counts it: it is a report of the chain like any other.
    assert.equal(all.at(-1)!['reports'], 5);

    const result = await verifyReportFiles([path]);
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.equal(result.reports, 9);

    // Without the first run's lines, the record is checked against its own prevDigest and seq.
    const alone = writeLines(join(dir, `alone${files}.ndjson`), linesOf(path).slice(firstRun.length));
    const aloneResult = await verifyReportFiles([alone]);
    assert.equal(aloneResult.ok, true, JSON.stringify(aloneResult.problems));
    assert.equal(aloneResult.first?.prevDigest, previous['digest']);
  });

  it('should refuse a chain_resumed record that names another line than the one before it, even with its digests intact', async () => {
    const before = createReportChain({ clock: fakeClock() });
    const lines = transcript().slice(0, 3).map((input) => before.append(input).line);
    const [, second, third] = lines.map(parse);
    // The writer's own chain, continuing from the third line but naming the second: every digest and link is right.
    const continued = createReportChain({ clock: fakeClock(), prevDigest: third!['digest'], nextSeq: third!['seq'] + 1 });
    const forged = continued.append({ kind: 'lifecycle', event: 'chain_resumed', detail: { previousDigest: second!['digest'], previousSeq: second!['seq'] }, generation: 0 }).line;
    const path = writeLines(join(dir, `forged${++files}.ndjson`), [...lines, forged]);
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems.map((p) => [p.line, p.kind]), [[4, 'resumed']]);
    assert.match(result.problems[0]!.message, /chain_resumed names seq 2 .* but the line before it \(.*:3\) is seq 3/);

    // Alone, it contradicts its own prevDigest and seq.
    const alone = writeLines(join(dir, `forged-alone${files}.ndjson`), [forged]);
    assert.deepEqual((await verifyReportFiles([alone])).problems.map((p) => [p.line, p.kind]), [[1, 'resumed']]);
  });

  it('should refuse a chain_resumed record without the line it continues from', async () => {
    const chain = createReportChain({ clock: fakeClock() });
    const spawn = chain.append(transcript()[0]!).line;
    const bare = chain.append({ kind: 'lifecycle', event: 'chain_resumed', detail: {}, generation: 0 }).line;
    const result = await verifyReportFiles([writeLines(join(dir, `bare${++files}.ndjson`), [spawn, bare])]);
    assert.deepEqual(result.problems.map((p) => [p.line, p.kind, p.message]), [[2, 'resumed', 'a chain_resumed record without detail.previousDigest and detail.previousSeq']]);
  });

  it('should report a forged chain_resumed through the command: exit 1, naming the line', async () => {
    const chain = createReportChain({ clock: fakeClock() });
    const spawn = chain.append(transcript()[0]!);
    const wrong = chain.append({ kind: 'lifecycle', event: 'chain_resumed', detail: { previousDigest: `sha256:${'0'.repeat(64)}`, previousSeq: 1 }, generation: 0 });
    const path = writeLines(join(dir, `cmd${++files}.ndjson`), [spawn.line, wrong.line]);
    const stdout = capture();
    const stderr = capture();
    assert.equal(await runReportVerify([path], { stdout, stderr }), 1);
    assert.match(stderr.text, new RegExp(`${path.replaceAll('.', '\\.')}:2: resumed: chain_resumed names seq 1 \\(sha256:000000000000…\\)`));
  });

  it('should refuse a resumedFrom that is not the line the chain continues from (a wiring bug, not a line)', () => {
    const path = join(dir, `wiring${++files}.ndjson`);
    const sink = openReportFileSink({ path }, quiet);
    const chain = createReportChain({ prevDigest: `sha256:${'a'.repeat(64)}`, nextSeq: 8 });
    assert.throws(() => createReporter(chain, sink, { resumedFrom: { seq: 6, digest: `sha256:${'a'.repeat(64)}` } }), /resumedFrom \(seq 6\) is not the line the chain continues from \(seq 7\)/);
    assert.equal(sink.stats.queued, 0);
    void sink.close();
  });
});
