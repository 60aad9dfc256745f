// `report verify --checkpoints <exported copy>`: the checkpoints the Collector received are the
// anchor a local file must reach; a file cut after its last exported checkpoint fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createReportChain, createReporter, loadPublicKey, loadSigningKey, openReportFileSink, runReportVerify, verifyReportFiles, type ReportInput, type VerifyResult,
} from '../../../components/execution-report/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { capture, fakeClock, keyFiles, tempDir, transcript, writeLines } from './reports.js';

const dir = tempDir();
const keys = keyFiles(dir);
const quiet = { error() {}, warn() {} };
let files = 0;
const parse = (line: string): Record<string, any> => JSON.parse(line) as Record<string, any>;
const linesOf = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const kinds = (result: VerifyResult): Array<[string, number, string]> => result.problems.map((p) => [p.file, p.line, p.kind]);
const file = (name: string, lines: readonly string[]): string => writeLines(join(dir, `${name}-${++files}.ndjson`), lines);

/** 12 reports, signed checkpoints every 5 and at close: checkpoints on lines 6, 12 and 15. */
async function reporterFile(inputs: readonly ReportInput[] = transcript()): Promise<string[]> {
  const signer = loadSigningKey(keys.privatePath);
  const path = join(dir, `rep${++files}.ndjson`);
  const sink = openReportFileSink({ path }, quiet);
  const reporter = createReporter(createReportChain({ clock: fakeClock(), signer }), sink, { checkpointEvery: 5, clock: new FakeClock() });
  for (const input of inputs) await reporter.report(input);
  await reporter.close();
  return linesOf(path);
}

async function verifyCommand(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runReportVerify(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('report verify --checkpoints', async () => {
  const lines = await reporterFile();
  const closing = parse(lines[14]!);
  const publicKey = loadPublicKey(keys.publicPath);
  // The export ships every line; the copy is the bodies, de-duplicated, in seq order.
  const copy = file('copy', lines);

  it('should pass a file that holds every exported checkpoint, naming the last one', async () => {
    const local = file('local', lines);
    const result = await verifyReportFiles([local], { publicKey, checkpoints: copy });
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.deepEqual(result.exported, { file: copy, checkpoints: 3, last: { seq: 15, digest: closing['digest'], line: 15 }, reached: true, precedesFiles: false });

    const out = await verifyCommand(local, '--public-key', keys.publicPath, '--checkpoints', copy);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`reaches the last exported checkpoint, seq 15 \\(${closing['digest']}, ${copy.replaceAll('.', '\\.')}:15\\); 3 exported checkpoints read\n`));
  });

  it('should fail a file cut after its last exported checkpoint, naming that checkpoint and where the file ends', async () => {
    // Cut after line 13: the count checkpoint at 12 remains, the exported closing one (15) does not.
    const cut = file('cut', lines.slice(0, 13));
    const plain = await verifyReportFiles([cut], { publicKey });
    assert.equal(plain.ok, true, 'alone, the cut file verifies: nothing in it contradicts the cut');

    const result = await verifyReportFiles([cut], { publicKey, checkpoints: copy });
    assert.deepEqual(kinds(result), [[cut, 13, 'truncated']]);
    const thirteenth = parse(lines[12]!);
    assert.equal(result.problems[0]!.message,
      `the files end at seq 13 (${thirteenth['digest']}, ${cut}:13), before the last exported checkpoint, seq 15 (${closing['digest']}, ${copy}:15): the file was cut after it was exported (at least 2 lines missing)`);
    assert.equal(result.exported?.reached, false);

    const out = await verifyCommand(cut, '--public-key', keys.publicPath, '--checkpoints', copy);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /:13: truncated: the files end at seq 13 .* before the last exported checkpoint, seq 15 \(sha256:[0-9a-f]{64}, .*:15\)/);
    assert.match(out.stderr, /FAILED: 1 problem in 11 reports; the first broken line is .*:13 \(truncated\)\n$/);
  });

  it('should pass a file that goes on past the copy (the export lags behind the file)', async () => {
    const lagging = file('lagging-copy', lines.slice(0, 12));
    const result = await verifyReportFiles([file('local', lines.slice(0, 14))], { publicKey, checkpoints: lagging });
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.equal(result.exported?.last?.seq, 12);
    assert.equal(result.exported?.reached, true);
  });

  it('should fail a file whose line at an exported checkpoint\'s seq is another one (rewritten after the export)', async () => {
    // The same run but its last report, rewritten with its digests recomputed and signed again: a chain intact in itself.
    const inputs = transcript();
    inputs[11] = { ...inputs[11]!, identity: { tenantId: 'someone-else' } } as ReportInput;
    const rewritten = file('rewritten', await reporterFile(inputs));
    assert.equal((await verifyReportFiles([rewritten], { publicKey })).ok, true);
    const result = await verifyReportFiles([rewritten], { publicKey, checkpoints: copy });
    // The checkpoints at 6 and 12 agree; the closing one, after the rewritten line, does not.
    assert.deepEqual(kinds(result), [[rewritten, 15, 'exported']]);
    assert.match(result.problems[0]!.message, /^seq 15 is sha256:.* here, but the exported checkpoint at seq 15 \(.*:15\) is sha256:.*: the file was rewritten after the export/);
  });

  it('should not take a copy\'s checkpoint whose signature fails as an anchor, and report it', async () => {
    const forgedCopy = file('forged-copy', lines.map((line, i) => (i === 14 ? line.replace(/"value":"[A-Za-z0-9+/]{4}/, '"value":"AAAA') : line)));
    assert.notDeepEqual(linesOf(forgedCopy), lines);
    const result = await verifyReportFiles([file('local', lines.slice(0, 13))], { publicKey, checkpoints: forgedCopy });
    assert.deepEqual(kinds(result).map(([, line, kind]) => [line, kind]), [[15, 'signature']]);
    assert.equal(result.problems[0]!.file, forgedCopy);
    assert.equal(result.exported?.last?.seq, 12, 'the forged checkpoint is no anchor: the one at 12 is the last, and the file reaches it');
  });

  it('should fail when the copy holds no checkpoint: there is nothing to compare with', async () => {
    const noCheckpoints = file('reports-only', lines.filter((line) => parse(line)['kind'] !== 'checkpoint'));
    const result = await verifyReportFiles([file('local', lines)], { checkpoints: noCheckpoints });
    assert.deepEqual(result.problems.map((p) => [p.file, p.kind, p.message]), [[noCheckpoints, 'exported', 'the exported copy holds no valid checkpoint: nothing to compare the files with']]);
  });

  it('should note, not fail, files that start after the last exported checkpoint (older files not given)', async () => {
    const early = file('early-copy', lines.slice(0, 6));
    const newer = file('newer', lines.slice(7));
    const out = await verifyCommand(newer, '--checkpoints', early);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /note: the last exported checkpoint, seq 6 \(sha256:[0-9a-f]{64}, .*:6\) precedes these files \(they start at seq 8\): give the older files to compare it\n/);
  });

  it('should say what --checkpoints needs', async () => {
    const out = await verifyCommand(copy, '--checkpoints');
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--checkpoints needs a file/);
  });
});
