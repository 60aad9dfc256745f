import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  loadSigningKey, runReportVerify, verifyReportFiles, type ExecutionReport, type VerifyResult,
} from '../../../components/execution-report/index.js';
import { capture, chainLines, closedLines, keyFiles, tempDir, transcript, writeLines } from './reports.js';

const dir = tempDir();
const keys = keyFiles(dir);
let files = 0;
const file = (lines: readonly string[], options?: { newlineAtEnd?: boolean }): string => writeLines(join(dir, `v${++files}.ndjson`), lines, options);
const lines = (): string[] => chainLines(transcript());
// Format 2 signs checkpoints: a signed file is one its reporter closed.
const signedLines = (): string[] => closedLines(transcript(), { signer: loadSigningKey(keys.privatePath) });
const kinds = (result: VerifyResult): Array<[number, string]> => result.problems.map((p) => [p.line, p.kind]);

async function verifyCommand(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runReportVerify(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('report verify', () => {
  it('should accept an intact file: schema, every digest, the chain from seq 1', async () => {
    const path = file(closedLines(transcript()));
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.reports, transcript().length);
    assert.deepEqual([result.checkpoints, result.closed, result.uncovered], [1, true, 0]);
    assert.equal(result.first?.prevDigest, null);
    const out = await verifyCommand(path);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^ok 12 reports, 1 checkpoint, chain intact\nseq 1 to 13 \(from the start of the chain\); last digest sha256:[0-9a-f]{64}\n$/);
  });

  it('should find an edited field: one digest problem at that line, no cascade', async () => {
    const edited = lines();
    edited[4] = edited[4]!.replace('"outcome":"forwarded"', '"outcome":"blocked"');
    const path = file(edited);
    assert.deepEqual(kinds(await verifyReportFiles([path])), [[5, 'digest']]);
    const out = await verifyCommand(path);
    assert.equal(out.code, 1);
    assert.match(out.stderr, new RegExp(`^${path}:5: digest: the content does not match its digest sha256:[0-9a-f]{12}… \\(it hashes to sha256:[0-9a-f]{12}…\\): the report was altered\n`));
    assert.match(out.stderr, new RegExp(`FAILED: 1 problem in 12 reports; the first broken line is ${path}:5 \\(digest\\)\n$`));
  });

  it('should find an edited field whose digest was recomputed too: the chain breaks at the next line', async () => {
    const edited = lines().map((line) => JSON.parse(line) as ExecutionReport);
    const target = edited[4]!;
    const { digestOf } = await import('../../../components/execution-report/index.js');
    if (target.kind === 'invocation') target.outcome = 'blocked';
    target.digest = digestOf(target);
    assert.deepEqual(kinds(await verifyReportFiles([file(edited.map((r) => JSON.stringify(r)))])), [[6, 'chain']]);
  });

  it('should find a deleted line: the chain and the sequence break at the line after it', async () => {
    const deleted = lines();
    deleted.splice(6, 1);
    const result = await verifyReportFiles([file(deleted)]);
    assert.deepEqual(kinds(result), [[7, 'chain'], [7, 'sequence']]);
    assert.match(result.problems[1]!.message, /seq 8 follows seq 6: 1 report missing/);
  });

  it('should find two reordered lines, first at the first of them', async () => {
    const swapped = lines();
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const path = file(swapped);
    const result = await verifyReportFiles([path]);
    assert.deepEqual(result.problems[0] && [result.problems[0].line, result.problems[0].kind], [4, 'chain']);
    assert.ok(result.problems.every((p) => p.kind === 'chain' || p.kind === 'sequence'), JSON.stringify(result.problems));
    assert.deepEqual([...new Set(result.problems.map((p) => p.line))], [4, 5, 6]);
    assert.match((await verifyCommand(path)).stderr, new RegExp(`the first broken line is ${path}:4 \\(chain\\)`));
  });

  it('should find a line that is not JSON or not a report by the schema, and go on checking the rest', async () => {
    const broken = lines();
    broken[2] = 'garbage';
    broken[7] = broken[7]!.replace('"direction":"client-to-server"', '"direction":"sideways"');
    const result = await verifyReportFiles([file(broken)]);
    assert.deepEqual(kinds(result), [[3, 'schema'], [8, 'schema']]);
    assert.match(result.problems[0]!.message, /^not JSON/);
    assert.match(result.problems[1]!.message, /^direction: /);
  });

  it('should check signatures with the public key: valid, a wrong one, a missing one', async () => {
    const good = file(signedLines());
    const ok = await verifyCommand(good, '--public-key', keys.publicPath);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^ok 12 reports, 1 checkpoint, chain intact, signatures valid\n/);

    // The checkpoint (line 13) carries the signature; a valid one of another chain's checkpoint is refused.
    const wrong = signedLines();
    const report = JSON.parse(wrong[12]!) as ExecutionReport;
    const other = JSON.parse(closedLines(transcript().slice(1), { signer: loadSigningKey(keys.privatePath) }).at(-1)!) as ExecutionReport;
    assert.equal(report.kind, 'checkpoint');
    report.signature = other.signature; // a valid signature, of another digest
    wrong[12] = JSON.stringify(report);
    const result = await verifyReportFiles([file(wrong)], { publicKey: (await import('../../../components/execution-report/index.js')).loadPublicKey(keys.publicPath) });
    assert.deepEqual(kinds(result), [[13, 'signature']]);
    assert.equal(result.problems[0]!.message, 'the signature does not match the digest');

    const unsigned = file(closedLines(transcript()));
    const out = await verifyCommand('--public-key', keys.publicPath, unsigned);
    assert.equal(out.code, 1);
    assert.deepEqual(out.stderr.split('\n').filter((line) => line.includes(': signature: ')), [`${unsigned}:13: signature: the report is not signed`]);
    assert.equal((await verifyCommand(unsigned)).code, 0, 'without a key, signatures are not asked for');
  });

  it('should call a torn last line torn, not tampering, and exit 0 saying so', async () => {
    const torn = lines();
    const path = file([...torn.slice(0, -1), torn.at(-1)!.slice(0, 100)], { newlineAtEnd: false });
    const result = await verifyReportFiles([path]);
    assert.equal(result.ok, true);
    assert.equal(result.torn, true);
    assert.deepEqual(kinds(result), [[12, 'torn']]);
    const out = await verifyCommand(path);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^ok 11 reports, chain intact\n/);
    assert.match(out.stdout, new RegExp(`${path}:12: torn last line \\(an interrupted write\\), ignored\n$`));
    // A complete last line that lacks only its newline is a report like any other.
    assert.deepEqual((await verifyReportFiles([file(torn, { newlineAtEnd: false })])).problems, []);
  });

  it('should not excuse an incomplete line anywhere but at the very end', async () => {
    const all = lines();
    const first = file([...all.slice(0, 5), all[5]!.slice(0, 50)], { newlineAtEnd: false });
    const second = file(all.slice(6));
    const result = await verifyReportFiles([first, second]);
    assert.equal(result.ok, false);
    assert.deepEqual(result.problems.map((p) => [p.file, p.line, p.kind]), [[first, 6, 'schema']]);
  });

  it('should check the chain across files in the order given, and catch files given out of order', async () => {
    const all = lines();
    const older = file(all.slice(0, 6));
    const newer = file(all.slice(6));
    assert.deepEqual((await verifyReportFiles([older, newer])).problems, []);
    const out = await verifyCommand(newer, older);
    assert.equal(out.code, 1);
    assert.equal(out.stderr, [
      `${older}:1: chain: prevDigest null is not the digest of the report before it (${newer}:6, ${(JSON.parse(all.at(-1)!) as ExecutionReport).digest.slice(0, 19)}…): a report was removed, inserted or moved`,
      `${older}:1: sequence: seq 1 follows seq 12`,
      `FAILED: 2 problems in 12 reports; the first broken line is ${older}:1 (chain)`,
      '',
    ].join('\n'));
  });

  it('should answer usage errors with exit 2', async () => {
    assert.equal((await verifyCommand()).code, 2);
    assert.match((await verifyCommand('--frobnicate', 'x')).stderr, /unknown option --frobnicate/);
    assert.match((await verifyCommand('x', '--public-key')).stderr, /--public-key needs a file/);
    const missing = await verifyCommand(join(dir, 'missing.ndjson'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*missing\.ndjson: ENOENT/);
    const badKey = await verifyCommand(file(lines()), '--public-key', join(dir, 'nope.pub'));
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /The report signing key cannot be used: .*nope\.pub: ENOENT/);
    assert.equal((await verifyCommand('--help')).code, 0);
    writeFileSync(join(dir, 'empty.ndjson'), '');
    assert.match((await verifyCommand(join(dir, 'empty.ndjson'))).stdout, /^ok 0 reports, chain intact\n$/);
    assert.ok(readFileSync(keys.publicPath, 'utf8').includes('PUBLIC KEY'));
  });
});
