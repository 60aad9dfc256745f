// `mcp-sidecar bundle sign|verify`: the exit codes and what they write.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runBundleCommand } from '../../../components/policy-bundle/index.js';
import { tempDir } from '../../helpers/temp-dir.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  return { stdout, stderr, out: () => String(stdout.read() ?? ''), err: () => String(stderr.read() ?? '') };
}

test('bundle sign writes a bundle that bundle verify accepts; a tampered one exits 1; a bad command line exits 2', async () => {
  const dir = tempDir('bundle-command');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'key.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: fleet, revision: 3 }\nrules: []\n');
  const bundle = join(dir, 'policy.bundle');
  assert.equal(await runBundleCommand(['sign', join(dir, 'policy.yaml'), '--key', join(dir, 'key.pem'), '--out', bundle, '--rollback'], io()), 0);
  const verifyIo = io();
  assert.equal(await runBundleCommand(['verify', bundle, '--key', join(dir, 'key.pub.pem')], verifyIo), 0);
  assert.match(verifyIo.out(), /signature valid; policy fleet, revision 3 \(rollback\)/);
  writeFileSync(bundle, readFileSync(bundle, 'utf8').replace('revision: 3', 'revision: 4'));
  const tamperedIo = io();
  assert.equal(await runBundleCommand(['verify', bundle, '--key', join(dir, 'key.pub.pem')], tamperedIo), 1);
  assert.match(tamperedIo.err(), /signature does not verify/);
  assert.equal(await runBundleCommand(['sign', join(dir, 'policy.yaml'), '--key', join(dir, 'key.pub.pem')], io()), 1, 'a public key cannot sign');
  assert.equal(await runBundleCommand(['sign', join(dir, 'policy.yaml')], io()), 2);
});
