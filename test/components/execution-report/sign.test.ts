import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import {
  createReportChain, keyIdOf, loadPublicKey, loadSigningKey, verifySignature, type ExecutionReport,
} from '../../../components/execution-report/index.js';
import { chainLines, closedLines, keyFiles, tempDir, transcript, V1_FIXTURES } from './reports.js';
import { sidecarErrorMessage } from '../../helpers/sidecar-error.js';

const dir = tempDir();
const keys = keyFiles(dir);

const keyError = (run: () => unknown): string => sidecarErrorMessage(run, 'SIDECAR_ERR_REPORT_KEY');

describe('report signatures', () => {
  it('should sign each checkpoint\'s digest with Ed25519, named by a key id the public key gives too; reports are covered by it, not signed', () => {
    const signer = loadSigningKey(keys.privatePath);
    const publicKey = loadPublicKey(keys.publicPath);
    const der = createPublicKey(readFileSync(keys.publicPath)).export({ type: 'spki', format: 'der' });
    assert.equal(signer.keyId, createHash('sha256').update(der).digest('hex').slice(0, 16));
    assert.equal(publicKey.keyId, signer.keyId);
    const lines = closedLines(transcript(), { signer }).map((line) => JSON.parse(line) as ExecutionReport);
    for (const report of lines.slice(0, -1)) assert.equal(report.signature, undefined, 'a report line carries no signature');
    const checkpoint = lines.at(-1)!;
    assert.equal(checkpoint.kind, 'checkpoint');
    assert.equal(checkpoint.signature?.alg, 'ed25519');
    assert.equal(checkpoint.signature?.keyId, signer.keyId);
    assert.deepEqual(verifySignature(checkpoint, publicKey), { valid: true });
    assert.equal(checkpoint.prevDigest, lines.at(-2)!.digest, 'the signed digest chains through every report before it');
  });

  it('should still check format 1 files, where every line is signed', () => {
    const publicKey = loadPublicKey(V1_FIXTURES.publicKey);
    const lines = readFileSync(V1_FIXTURES.signed, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, transcript().length);
    for (const line of lines) {
      const report = JSON.parse(line) as ExecutionReport;
      assert.equal(report.signature?.keyId, publicKey.keyId);
      assert.deepEqual(verifySignature(report, publicKey), { valid: true });
    }
  });

  it('should keep signed lines deterministic (Ed25519 is), and the digest unchanged by signing', () => {
    const signer = loadSigningKey(keys.privatePath);
    assert.deepEqual(chainLines(transcript(), { signer }), chainLines(transcript(), { signer }));
    const digests = (lines: string[]) => lines.map((line) => (JSON.parse(line) as ExecutionReport).digest);
    assert.deepEqual(digests(chainLines(transcript(), { signer })), digests(chainLines(transcript())));
  });

  it('should refuse a signature by another key, over another digest, or none', () => {
    const publicKey = loadPublicKey(keys.publicPath);
    const other = keyFiles(dir, 'other');
    const line = closedLines(transcript().slice(0, 1), { signer: loadSigningKey(other.privatePath) }).at(-1);
    const report = JSON.parse(line!) as ExecutionReport;
    assert.match((verifySignature(report, publicKey) as { reason: string }).reason, /signed with key [0-9a-f]{16}, not with the given public key/);
    const mine = JSON.parse(closedLines(transcript().slice(0, 2), { signer: loadSigningKey(keys.privatePath) })[2]!) as ExecutionReport;
    assert.deepEqual(verifySignature({ ...mine, digest: `sha256:${'0'.repeat(64)}` }, publicKey), { valid: false, reason: 'the signature does not match the digest' });
    assert.deepEqual(verifySignature({ digest: mine.digest }, publicKey), { valid: false, reason: 'the report is not signed' });
  });

  it('should never show the private key: a signer serializes and prints as its key id', () => {
    const signer = loadSigningKey(keys.privatePath);
    const pem = readFileSync(keys.privatePath, 'utf8');
    const body = pem.split('\n')[1]!;
    assert.equal(JSON.stringify(signer), JSON.stringify({ keyId: signer.keyId }));
    assert.equal(inspect(signer), `ReportSigner { keyId: '${signer.keyId}' }`);
    assert.ok(!inspect(signer, { showHidden: true, depth: 5 }).includes(body));
    assert.deepEqual(Object.keys(signer).sort(), ['keyId', 'sign', 'toJSON']);
  });

  it('should say clearly what is wrong with a key file, without its content', () => {
    assert.match(keyError(() => loadSigningKey(join(dir, 'missing.key'))), /missing\.key: ENOENT/);
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    assert.match(keyError(() => loadSigningKey(notPem)), /not\.pem: not a PEM private key \(PKCS#8\)/);
    const rsa = join(dir, 'rsa.key');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    assert.match(keyError(() => loadSigningKey(rsa)), /rsa\.key: an rsa key; reports are signed with Ed25519/);
    assert.match(keyError(() => loadPublicKey(notPem)), /not a PEM public key \(SPKI\)/);
    assert.equal(keyIdOf(createPublicKey(readFileSync(keys.publicPath))), loadPublicKey(keys.publicPath).keyId);
  });

  it('should let a second chain continue signing where the first stopped', () => {
    const signer = loadSigningKey(keys.privatePath);
    const chain = createReportChain({ signer });
    const a = chain.append(transcript()[0]!);
    const b = createReportChain({ signer, prevDigest: a.digest, nextSeq: 2 }).append(transcript()[1]!);
    assert.equal((JSON.parse(b.line) as ExecutionReport).prevDigest, a.digest);
  });
});
