// Format 2 checkpoints: the line that names the format and carries the signature of the chain so
// far, written every N reports, T ms after an uncovered report (when signing) and at close; and
// what verify can and cannot tell about a file cut after its last checkpoint.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createReportChain, createReporter, digestOf, loadPublicKey, loadSigningKey, openReportFileSink, runReportVerify, verifyReportFiles,
  type ExecutionReport, type VerifyResult,
} from '../../../components/execution-report/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { capture, closedLines, fakeClock, keyFiles, POLICY, tempDir, transcript, V1_FIXTURES, writeLines } from './reports.js';

const dir = tempDir();
const keys = keyFiles(dir);
const quiet = { error() {}, warn() {} };
let files = 0;
const file = (lines: readonly string[]): string => writeLines(join(dir, `k${++files}.ndjson`), lines);
const kinds = (result: VerifyResult): Array<[number, string]> => result.problems.map((p) => [p.line, p.kind]);
const parse = (line: string): ExecutionReport & Record<string, unknown> => JSON.parse(line) as ExecutionReport & Record<string, unknown>;
const readLines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);

async function verifyCommand(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runReportVerify(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** 12 reports with a signed checkpoint every 5 and at close: lines 6 and 12 are checkpoints (count), 15 the closing one. */
async function reporterFile(options: { signed?: boolean } = {}): Promise<string[]> {
  const path = join(dir, `rep${++files}.ndjson`);
  const sink = openReportFileSink({ path }, quiet);
  const signer = options.signed === true ? loadSigningKey(keys.privatePath) : undefined;
  const reporter = createReporter(createReportChain({ clock: fakeClock(), signer }), sink, { checkpointEvery: 5, clock: new FakeClock() });
  for (const input of transcript()) await reporter.report(input);
  await reporter.close();
  return readLines(path);
}

describe('report checkpoints (format 2)', () => {
  it('should write a checkpoint every N reports and one at close, each naming the format and counting its reports', async () => {
    const lines = (await reporterFile()).map(parse);
    assert.deepEqual(lines.map((l) => (l.kind === 'checkpoint' ? `checkpoint:${l['reason']}:${l['reports']}` : l.kind)), [
      'lifecycle', 'invocation', 'invocation', 'invocation', 'invocation', 'checkpoint:count:5',
      'invocation', 'invocation', 'invocation', 'lifecycle', 'lifecycle', 'checkpoint:count:5',
      'lifecycle', 'invocation', 'checkpoint:close:2',
    ]);
    for (const checkpoint of lines.filter((l) => l.kind === 'checkpoint')) assert.deepEqual([checkpoint['schema'], checkpoint['schemaVersion']], ['MiddlewareExecutionReport', 2]);
    assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i + 1), 'checkpoints are links of the chain');
    for (const [i, line] of lines.entries()) {
      assert.equal(line.digest, digestOf(line));
      if (i > 0) assert.equal(line.prevDigest, lines[i - 1]!.digest);
    }
  });

  it('should state the policy on the first invocation of a chain, after each checkpoint and on a reload, and nowhere else', async () => {
    const lines = (await reporterFile()).map(parse);
    const stated = lines.map((l, i) => (l.kind === 'invocation' && l['policy'] !== undefined ? i + 1 : 0)).filter(Boolean);
    assert.deepEqual(stated, [2, 7, 14]);
    assert.deepEqual(lines[1]!['policy'], POLICY);
    const chain = createReportChain();
    const call = transcript()[1]!;
    assert.ok(call.kind === 'invocation');
    const first = parse(chain.append(call).line);
    const same = parse(chain.append(call).line);
    const reloaded = parse(chain.append({ ...call, policy: { ...call.policy, revision: '4' } }).line);
    assert.deepEqual([first['policy'] !== undefined, same['policy'] !== undefined, (reloaded['policy'] as { revision: string }).revision], [true, false, '4']);
    // A chain continued by a new session states it again.
    const continued = parse(createReportChain({ prevDigest: reloaded.digest, nextSeq: 4 }).append(call).line);
    assert.ok(continued['policy'] !== undefined);
  });

  it('should, when signing, write a checkpoint T ms after a report no checkpoint covers, on the injected clock; none by time without a key', async () => {
    const clock = new FakeClock();
    const signedPath = join(dir, 'timed.ndjson');
    const signed = createReporter(createReportChain({ signer: loadSigningKey(keys.privatePath) }), openReportFileSink({ path: signedPath }, quiet), { clock, checkpointIntervalMs: 250 });
    await signed.report(transcript()[0]!);
    await signed.report(transcript()[1]!);
    assert.equal(clock.pending().length, 1, 'one timer for the uncovered reports');
    clock.advance(249);
    assert.equal(signed.chain.sinceCheckpoint, 2);
    clock.advance(1);
    assert.equal(signed.chain.sinceCheckpoint, 0);
    assert.equal(clock.pending().length, 0, 'nothing uncovered, no timer');
    await signed.close();
    const lines = readLines(signedPath).map(parse);
    assert.deepEqual(lines.map((l) => (l.kind === 'checkpoint' ? `${l['reason']}:${l['reports']}` : l.kind)), ['lifecycle', 'invocation', 'interval:2', 'close:0']);
    const result = await verifyReportFiles([signedPath], { publicKey: loadPublicKey(keys.publicPath) });
    assert.deepEqual([result.problems, result.signaturesValid, result.closed], [[], 2, true]);

    const unsignedClock = new FakeClock();
    const unsigned = createReporter(createReportChain(), openReportFileSink({ path: join(dir, 'untimed.ndjson') }, quiet), { clock: unsignedClock, checkpointIntervalMs: 250 });
    await unsigned.report(transcript()[0]!);
    assert.equal(unsignedClock.pending().length, 0);
    await unsigned.close();
  });

  it('should end the file with the closing checkpoint: a report after close is refused and counted, not written after it', async () => {
    const path = join(dir, 'after-close.ndjson');
    const sink = openReportFileSink({ path }, quiet);
    const reporter = createReporter(createReportChain(), sink, { clock: new FakeClock() });
    reporter.report(transcript()[0]!);
    await reporter.close();
    assert.equal(reporter.report(transcript()[1]!), undefined);
    assert.equal(sink.stats.dropped, 1);
    const lines = readLines(path).map(parse);
    assert.deepEqual(lines.map((l) => l.kind), ['lifecycle', 'checkpoint']);
    assert.equal((await verifyReportFiles([path])).closed, true);
  });

  it('should quote a session seed that needs it in the default invocation ids', () => {
    const line = createReportChain({ sessionSeed: 'pod "7"\\' }).append(transcript()[0]!).line;
    assert.equal(parse(line).invocationId, 'pod "7"\\-1');
    assert.equal(parse(line).digest, digestOf(parse(line)));
  });

  it('should verify a closed, signed file; and say of a file cut after its last checkpoint that it is open, failing it with --require-closed', async () => {
    const lines = await reporterFile({ signed: true });
    const intact = file(lines);
    const ok = await verifyCommand(intact, '--public-key', keys.publicPath);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok 12 reports, 3 checkpoints, chain intact, signatures valid\nseq 1 to 15 \(from the start of the chain\); last digest sha256:[0-9a-f]{64}\n$/);

    // Cut after the checkpoint of line 12: the reports after it and the closing checkpoint are gone.
    const cut = file(lines.slice(0, 12));
    const noted = await verifyCommand(cut, '--public-key', keys.publicPath);
    assert.equal(noted.code, 0, noted.stderr);
    assert.match(noted.stdout, /\nnote: the last line is not a closing checkpoint: the writer is still running, stopped without closing, or lines were cut from the end; 0 reports after the last checkpoint, covered by no signature\n$/);
    const strict = await verifyReportFiles([cut], { publicKey: loadPublicKey(keys.publicPath), requireClosed: true });
    assert.deepEqual(kinds(strict), [[12, 'open']]);
    const refused = await verifyCommand(cut, '--require-closed');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^${cut}:12: open: the file does not end with a closing checkpoint \\(0 reports after the last checkpoint\\)`));

    // Every checkpoint removed and the digests recomputed: nothing is signed, and the file is open.
    const stripped: ExecutionReport[] = [];
    for (const report of lines.map(parse).filter((l) => l.kind !== 'checkpoint')) {
      const previous = stripped.at(-1);
      const relinked = { ...report, seq: stripped.length + 1, prevDigest: previous?.digest ?? null } as ExecutionReport;
      relinked.digest = digestOf(relinked);
      stripped.push(relinked);
    }
    const strippedFile = file(stripped.map((r) => JSON.stringify(r)));
    const unsignedOut = await verifyCommand(strippedFile, '--public-key', keys.publicPath);
    assert.match(unsignedOut.stdout, /^ok 12 reports, chain intact, no signature in it\n/);
    assert.match(unsignedOut.stdout, /12 reports after the last checkpoint, covered by no signature\n$/);
    assert.equal((await verifyCommand(strippedFile, '--public-key', keys.publicPath, '--require-closed')).code, 1);

    // Cut in the middle of a segment: the reports after the last checkpoint are counted, and uncovered.
    const mid = await verifyReportFiles([file(lines.slice(0, 14))], { publicKey: loadPublicKey(keys.publicPath) });
    assert.deepEqual([mid.ok, mid.closed, mid.uncovered], [true, false, 2]);
  });

  it('should catch a forged checkpoint: edited, re-digested (signature and chain), or signed by another key', async () => {
    const lines = await reporterFile({ signed: true });
    const publicKey = loadPublicKey(keys.publicPath);
    const edited = [...lines];
    edited[5] = edited[5]!.replace('"reports":5', '"reports":4');
    assert.notEqual(edited[5], lines[5]);
    assert.deepEqual(kinds(await verifyReportFiles([file(edited)], { publicKey })), [[6, 'digest']]);

    const redigested = lines.map(parse);
    (redigested[5] as Record<string, unknown>)['reports'] = 4;
    redigested[5]!.digest = digestOf(redigested[5]!);
    assert.deepEqual(kinds(await verifyReportFiles([file(redigested.map((r) => JSON.stringify(r)))], { publicKey })), [[6, 'signature'], [7, 'chain']]);

    const other = keyFiles(dir, 'forger');
    const forged = closedLines(transcript(), { signer: loadSigningKey(other.privatePath) });
    const result = await verifyReportFiles([file(forged)], { publicKey });
    assert.deepEqual(kinds(result), [[13, 'signature']]);
    assert.match(result.problems[0]!.message, /not with the given public key/);
  });

  it('should catch a checkpoint removed: the chain and the sequence break at the line after it', async () => {
    const lines = await reporterFile({ signed: true });
    const removed = [...lines.slice(0, 5), ...lines.slice(6)];
    const result = await verifyReportFiles([file(removed)], { publicKey: loadPublicKey(keys.publicPath) });
    assert.deepEqual(kinds(result), [[6, 'chain'], [6, 'sequence']]);
    assert.match(result.problems[1]!.message, /seq 7 follows seq 5: 1 report missing/);
  });

  it('should still verify format 1 files (the previous version\'s), signed or not, and a file whose chain goes on in format 2', async () => {
    const unsigned = await verifyReportFiles([V1_FIXTURES.unsigned]);
    assert.deepEqual([unsigned.problems, unsigned.reports, unsigned.format2], [[], 12, false]);
    assert.match((await verifyCommand(V1_FIXTURES.unsigned)).stdout, /^ok 12 reports, chain intact\nseq 1 to 12 \(from the start of the chain\); last digest sha256:ecf06b03ebc8[0-9a-f]{52}\n$/);
    const signed = await verifyCommand(V1_FIXTURES.signed, '--public-key', V1_FIXTURES.publicKey);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /^ok 12 reports, chain intact, signatures valid\n/);

    // An upgraded writer continues the old file's chain in format 2.
    const old = readLines(V1_FIXTURES.unsigned);
    const last = parse(old.at(-1)!);
    const continued = closedLines(transcript().slice(0, 3), { prevDigest: last.digest, nextSeq: last.seq + 1 });
    const mixed = await verifyReportFiles([file([...old, ...continued])]);
    assert.deepEqual([mixed.problems, mixed.reports, mixed.checkpoints, mixed.closed], [[], 15, 1, true]);
    // The tamper checks hold across the boundary.
    const tampered = [...old, ...continued];
    tampered[11] = tampered[11]!.replace('"outcome":"rate_limited"', '"outcome":"forwarded"');
    assert.deepEqual(kinds(await verifyReportFiles([file(tampered)])), [[12, 'digest']]);
    assert.deepEqual(kinds(await verifyReportFiles([file([...old.slice(0, 11), ...continued])])), [[12, 'chain'], [12, 'sequence']]);
  });
});
