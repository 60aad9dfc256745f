// report verify requires each line to be byte for byte what the writer writes for its content:
// JSON.parse forgives duplicated keys (last wins), key order, whitespace and other spellings,
// and a digest over the parsed content cannot see any of them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { firstDifference } from '../../../components/execution-report/canonical-line.js';
import {
  createReportChain, loadPublicKey, loadSigningKey, runReportVerify, verifyReportFiles, type ReportInput, type VerifyResult,
} from '../../../components/execution-report/index.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { readFileSync } from 'node:fs';
import { capture, chainLines, closedLines, fakeClock, generator, keyFiles, tempDir, transcript, V1_FIXTURES, writeLines } from './reports.js';

const dir = tempDir();
const keys = keyFiles(dir);
let files = 0;
const file = (lines: readonly string[]): string => writeLines(join(dir, `c${++files}.ndjson`), lines);
const kinds = (result: VerifyResult): Array<[number, string]> => result.problems.map((p) => [p.line, p.kind]);

/** The transcript's lines with line `number` (1-based) edited; the edit must change it. */
function edited(number: number, edit: (line: string) => string, lines = chainLines(transcript())): string[] {
  const before = lines[number - 1]!;
  lines[number - 1] = edit(before);
  assert.notEqual(lines[number - 1], before, 'the edit applies');
  return lines;
}

/** The 0-based byte offset in `line` of the character at `index`. */
const byteAt = (line: string, index: number): number => Buffer.byteLength(line.slice(0, index));

/** Verifies; expects exactly one noncanonical problem first, on `line`, at `path` and `byte`, and returns every kind. */
async function refused(lines: readonly string[], line: number, path: string, byte: number): Promise<Array<[number, string]>> {
  const result = await verifyReportFiles([file(lines)]);
  assert.equal(result.ok, false);
  const first = result.problems[0]!;
  assert.deepEqual([first.line, first.kind], [line, 'noncanonical'], JSON.stringify(result.problems));
  assert.match(first.message, new RegExp(`^not the canonical encoding of its content, from byte ${byte} \\(${path.replace(/[.[\]]/g, '\\$&')}\\): the line has \``));
  return kinds(result);
}

// Line 5 of the transcript: a tools/call that was forwarded, with arguments holding "héllo ✓",
// so byte offsets and character offsets differ after them.
const FORWARDED = 5;

describe('report verify: one encoding per report', () => {
  it('should refuse a duplicated key placed before the real one (first-wins readers see it), though the digest matches', async () => {
    const lines = edited(FORWARDED, (line) => line.replace('"outcome":"forwarded"', '"outcome":"blocked","outcome":"forwarded"'));
    const at = lines[FORWARDED - 1]!.indexOf('"outcome":"') + '"outcome":"'.length;
    assert.deepEqual(await refused(lines, FORWARDED, 'outcome', byteAt(lines[FORWARDED - 1]!, at)), [[FORWARDED, 'noncanonical']]);
  });

  it('should refuse a duplicated key placed after the real one (JSON.parse sees it): not canonical, and the digest fails', async () => {
    const lines = edited(FORWARDED, (line) => line.replace('"outcome":"forwarded"', '"outcome":"forwarded","outcome":"blocked"'));
    const at = lines[FORWARDED - 1]!.indexOf('"outcome":"') + '"outcome":"'.length;
    assert.deepEqual(await refused(lines, FORWARDED, 'outcome', byteAt(lines[FORWARDED - 1]!, at)), [[FORWARDED, 'noncanonical'], [FORWARDED, 'digest']]);
  });

  it('should refuse a key out of order', async () => {
    const lines = edited(FORWARDED, (line) => line.replace('"method":"tools/call","mode":"enforce"', '"mode":"enforce","method":"tools/call"'));
    const at = lines[FORWARDED - 1]!.indexOf('"mode"') + 2; // "m is shared with "method"
    assert.deepEqual(await refused(lines, FORWARDED, 'mode', byteAt(lines[FORWARDED - 1]!, at)), [[FORWARDED, 'noncanonical']]);
  });

  it('should refuse extra whitespace: after a colon, after a comma, inside arguments, at the end of the line', async () => {
    let lines = edited(FORWARDED, (line) => line.replace('"mode":"enforce"', '"mode": "enforce"'));
    let at = lines[FORWARDED - 1]!.indexOf('"mode": ') + '"mode":'.length;
    await refused(lines, FORWARDED, 'mode', byteAt(lines[FORWARDED - 1]!, at));

    lines = edited(FORWARDED, (line) => line.replace(',"mode"', ', "mode"'));
    at = lines[FORWARDED - 1]!.indexOf(', "mode"') + 1;
    await refused(lines, FORWARDED, 'mode', byteAt(lines[FORWARDED - 1]!, at));

    lines = edited(FORWARDED, (line) => line.replace('"a":[true]', '"a":[ true]'));
    at = lines[FORWARDED - 1]!.indexOf('[ true]') + 1;
    await refused(lines, FORWARDED, 'arguments.nested.a[0]', byteAt(lines[FORWARDED - 1]!, at));

    lines = edited(FORWARDED, (line) => `${line} `);
    await refused(lines, FORWARDED, 'after the report', Buffer.byteLength(lines[FORWARDED - 1]!) - 1);

    // CRLF line ends: every line carries a \r that JSON.parse skips as whitespace.
    const crlf = await verifyReportFiles([file(chainLines(transcript()).map((line) => `${line}\r`))]);
    assert.equal(crlf.problems.length, 12);
    assert.ok(crlf.problems.every((p) => p.kind === 'noncanonical' && p.message.includes('(after the report)') && p.message.includes('\\u000d')), crlf.problems[0]!.message);
  });

  it('should refuse a string escaped where the writer writes it plain: "\\u0061" for "a", "\\/" for "/"', async () => {
    let lines = edited(FORWARDED, (line) => line.replace('"method":"tools/call"', '"method":"tools/c\\u0061ll"'));
    let at = lines[FORWARDED - 1]!.indexOf('\\u0061');
    assert.deepEqual(await refused(lines, FORWARDED, 'method', byteAt(lines[FORWARDED - 1]!, at)), [[FORWARDED, 'noncanonical']]);

    lines = edited(FORWARDED, (line) => line.replace('"method":"tools/call"', '"method":"tools\\/call"'));
    at = lines[FORWARDED - 1]!.indexOf('\\/');
    await refused(lines, FORWARDED, 'method', byteAt(lines[FORWARDED - 1]!, at));
  });

  it('should refuse a number spelled otherwise: 1.0 for 1, 1.50 for 1.5, 1e0 for 1', async () => {
    // schemaVersion lives on checkpoint lines (format 2) and on every line of a format 1 file.
    const v1 = (): string[] => readFileSync(V1_FIXTURES.unsigned, 'utf8').split('\n').filter(Boolean);
    let lines = edited(FORWARDED, (line) => line.replace('"schemaVersion":1', '"schemaVersion":1.0'), v1());
    let at = lines[FORWARDED - 1]!.indexOf('"schemaVersion":1.0') + '"schemaVersion":1'.length;
    assert.deepEqual(await refused(lines, FORWARDED, 'schemaVersion', byteAt(lines[FORWARDED - 1]!, at)), [[FORWARDED, 'noncanonical']]);

    lines = edited(FORWARDED, (line) => line.replace('"generation":0', '"generation":0.0'));
    at = lines[FORWARDED - 1]!.indexOf('"generation":0.0') + '"generation":0'.length;
    assert.deepEqual(await refused(lines, FORWARDED, 'generation', byteAt(lines[FORWARDED - 1]!, at)), [[FORWARDED, 'noncanonical']]);

    lines = edited(FORWARDED, (line) => line.replace('"n":1.5', '"n":1.50'));
    at = lines[FORWARDED - 1]!.indexOf('"n":1.50') + '"n":1.5'.length;
    await refused(lines, FORWARDED, 'arguments.n', byteAt(lines[FORWARDED - 1]!, at));

    lines = edited(1, (line) => line.replace('"schemaVersion":1', '"schemaVersion":1e0'), v1());
    at = lines[0]!.indexOf('"schemaVersion":1e0') + '"schemaVersion":1'.length;
    await refused(lines, 1, 'schemaVersion', at); // line 1 is ASCII: bytes are characters

    const CHECKPOINT = transcript().length + 1;
    lines = edited(CHECKPOINT, (line) => line.replace('"schemaVersion":2', '"schemaVersion":2e0'), closedLines(transcript()));
    at = lines[CHECKPOINT - 1]!.indexOf('"schemaVersion":2e0') + '"schemaVersion":2'.length;
    assert.deepEqual(await refused(lines, CHECKPOINT, 'schemaVersion', at), [[CHECKPOINT, 'noncanonical']]);
  });

  it('should hold the parts outside the digest to the same encoding: timing and signature', async () => {
    // Line 1 is a spawn, whose timing carries the pid.
    let lines = edited(1, (line) => line.replace('"pid":4242', '"pid":1,"pid":4242'));
    assert.deepEqual(await refused(lines, 1, 'timing.pid', lines[0]!.indexOf('"pid":1,') + '"pid":'.length), [[1, 'noncanonical']]);

    // The signature is on the checkpoint (line 13).
    const signed = closedLines(transcript(), { signer: loadSigningKey(keys.privatePath) });
    lines = edited(13, (line) => line.replace(/"alg":"ed25519","keyId":("[0-9a-f]+")/, '"keyId":$1,"alg":"ed25519"'), signed);
    const result = await verifyReportFiles([file(lines)], { publicKey: loadPublicKey(keys.publicPath) });
    assert.deepEqual(kinds(result), [[13, 'noncanonical']], 'the signature itself is still valid');
    assert.match(result.problems[0]!.message, /\(signature\.keyId\)/);

    // The same in a format 1 file, where every line is signed.
    const v1 = readFileSync(V1_FIXTURES.signed, 'utf8').split('\n').filter(Boolean);
    lines = edited(2, (line) => line.replace(/"alg":"ed25519","keyId":("[0-9a-f]+")/, '"keyId":$1,"alg":"ed25519"'), v1);
    const old = await verifyReportFiles([file(lines)], { publicKey: loadPublicKey(V1_FIXTURES.publicKey) });
    assert.deepEqual(kinds(old), [[2, 'noncanonical']], 'the signature itself is still valid');
    assert.match(old.problems[0]!.message, /\(signature\.keyId\)/);
  });

  it('should name the first noncanonical line first, and exit 1 with file:line: noncanonical', async () => {
    const lines = edited(3, (line) => line.replace('"generation":0', '"generation": 0'));
    lines[6] = lines[6]!.replace('"outcome":"upstream_error"', '"outcome":"forwarded"'); // line 7: an ordinary edit
    const path = file(lines);
    assert.deepEqual(kinds(await verifyReportFiles([path])), [[3, 'noncanonical'], [7, 'digest']]);
    const stdout = capture();
    const stderr = capture();
    assert.equal(await runReportVerify([path], { stdout, stderr }), 1);
    assert.match(stderr.text, new RegExp(`^${path}:3: noncanonical: not the canonical encoding of its content, from byte \\d+ \\(generation\\): `
      + 'the line has `…[^`]*generation": 0[^`]*` where the writer writes `…[^`]*generation":0[^`]*`: a duplicated key, a key out of order, '
      + `whitespace, or another spelling of a string or number\n${path}:7: digest: `));
    assert.match(stderr.text, new RegExp(`FAILED: 2 problems in 12 reports; the first broken line is ${path}:3 \\(noncanonical\\)\n$`));
    assert.equal(stdout.text, '');
  });

  it('should accept the writer\'s lines untouched: 2000 generated reports, signed, with every timing field', async () => {
    const next = seededRandom(20260412);
    const input = generator(next);
    const timed = (report: ReportInput, i: number): ReportInput => {
      switch (i % 4) {
        case 0: return report;
        case 1: return { ...report, startedAt: Date.UTC(2026, 0, 1) - 3 };
        case 2: return { ...report, startedAt: new Date(Date.UTC(2026, 0, 1)), durationMs: 0.25 };
        default: return { ...report, durationMs: [0, 1e-7, 1e21, 12345.678][Math.floor(next() * 4)]! };
      }
    };
    const chain = createReportChain({ clock: fakeClock(), sessionSeed: 'canon', signer: loadSigningKey(keys.privatePath) });
    // A signed checkpoint every 100 reports, as a reporter with checkpointEvery 100 writes them.
    const lines = Array.from({ length: 2000 }, (_, i) => {
      const line = chain.append(timed(input(), i)).line;
      return (i + 1) % 100 === 0 ? [line, chain.checkpoint('count').line] : [line];
    }).flat();
    const result = await verifyReportFiles([file(lines)], { publicKey: loadPublicKey(keys.publicPath) });
    assert.deepEqual(result.problems.slice(0, 3), []);
    assert.equal(result.reports, 2000);
    assert.equal(result.signaturesValid, 20);
  });
});

describe('firstDifference', () => {
  it('should say nothing of equal lines', () => {
    assert.equal(firstDifference('{"a":1}', '{"a":1}'), undefined);
  });

  it('should give the byte offset of the first differing character, never inside a surrogate pair', () => {
    const d = firstDifference('{"a":"é😀x","b":1}', '{"a":"é😁x","b":1}')!;
    assert.equal(d.byte, 8); // {"a":" is 6 bytes, é 2
    assert.equal(d.path, 'a');
  });

  it('should name the member at the difference: nested keys, array indexes, odd keys, the top level', () => {
    assert.equal(firstDifference('{"a":[1,{"b":[true, false]}]}', '{"a":[1,{"b":[true,false]}]}')!.path, 'a[1].b[1]');
    assert.equal(firstDifference('{"a b":{"c":1 }}', '{"a b":{"c":1}}')!.path, '["a b"]');
    assert.equal(firstDifference('{"z":1,"a":2}', '{"a":2,"z":1}')!.path, 'z');
    assert.equal(firstDifference('{"a":1 }', '{"a":1}')!.path, '');
    assert.equal(firstDifference(' {"a":1}', '{"a":1}')!.path, '');
    assert.equal(firstDifference('{"a":1}\t', '{"a":1}')!.path, undefined);
  });

  it('should show a little of both texts from before the difference, control characters escaped', () => {
    const d = firstDifference(`{"key":"${'x'.repeat(60)}",\t"y":1}`, `{"key":"${'x'.repeat(60)}","y":1}`)!;
    assert.equal(d.found, `…${'x'.repeat(10)}",\\u0009"y":1}`);
    assert.equal(d.expected, `…${'x'.repeat(10)}","y":1}`);
  });
});
