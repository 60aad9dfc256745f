// The bundle source's edges the rotation tests do not reach: keys from a JWKS (--policy-jwks-url),
// unsigned bundles only when allowed, a tampered cache, polls that overlap, a rollback below the
// cache's floor at start.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CACHE_FILE, createPolicyBundleSource, signBundle, type PolicyBundleSettings } from '../../../components/policy-bundle/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { policyYaml, startBundleServer, type BundleServer } from './bundle-server.js';

const ed25519 = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function publicKeyFile(dir: string): string {
  const file = join(dir, 'public.pem');
  writeFileSync(file, ed25519.publicKey.export({ type: 'spki', format: 'pem' }));
  return file;
}

async function sourceFor(control: BundleServer, settings: Partial<PolicyBundleSettings> & { dir: string }) {
  const logs = captureLogs('debug');
  const installed: string[] = [];
  const source = await createPolicyBundleSource({
    settings: {
      url: control.url, pollMs: 30_000, publicKeyFile: publicKeyFile(settings.dir), jwksUrl: undefined, allowUnsigned: false, cacheDir: join(settings.dir, 'cache'), retries: 0, ...settings,
    },
    logger: logs.logger, clock: new FakeClock(), random: seededRandom(17),
    compile: async (loaded) => loaded.document.metadata.revision,
    install: (revision) => void installed.push(revision),
  });
  after(() => source.close());
  return { source, installed, logs };
}

async function controlPlane(): Promise<BundleServer> {
  const control = await startBundleServer();
  after(() => control.close());
  return control;
}

describe('the bundle source, edges', () => {
  test('--policy-jwks-url: the header\'s kid picks the key of the JWKS; a kid the JWKS does not hold is refused', async () => {
    const jwks = { keys: [{ ...ed25519.publicKey.export({ format: 'jwk' }), kid: 'fleet-2026', use: 'sig' }, { ...p256.publicKey.export({ format: 'jwk' }), kid: 'fleet-p256', use: 'sig' }] };
    const keyServer = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
    after(() => new Promise<void>((resolve) => {
      keyServer.closeAllConnections();
      keyServer.close(() => resolve());
    }));
    const jwksUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks.json`;
    const control = await controlPlane();
    const dir = tempDir('bundle-jwks');
    control.serve(await signBundle(policyYaml(1), 'p', ed25519.privateKey, { keyId: 'fleet-2026' }));
    const { source, installed } = await sourceFor(control, { dir, publicKeyFile: undefined, jwksUrl });
    assert.equal(await source.initial(), '1');
    control.serve(await signBundle(policyYaml(2), 'p', p256.privateKey, { keyId: 'fleet-p256' }));
    assert.equal(await source.poll('test'), 'activated', 'an ES256 key of the same JWKS');
    control.serve(await signBundle(policyYaml(3), 'p', generateKeyPairSync('ed25519').privateKey, { keyId: 'retired' }));
    assert.equal(await source.poll('test'), 'rejected');
    assert.equal(source.status().failures.signature, 1);
    assert.deepEqual(installed, ['2']);
    assert.equal(source.status().revision, 2);
  });

  test('an unsigned bundle: refused (`unsigned`) unless --policy-allow-unsigned', async () => {
    const control = await controlPlane();
    control.serve(policyYaml(1));
    const refusing = await sourceFor(control, { dir: tempDir('bundle-unsigned-no') });
    assert.equal(await refusing.source.initial(), undefined);
    assert.equal(refusing.source.status().failures.unsigned, 1);
    const allowing = await sourceFor(control, { dir: tempDir('bundle-unsigned-yes'), allowUnsigned: true, publicKeyFile: undefined });
    assert.equal(await allowing.source.initial(), '1');
    control.serve(policyYaml(2));
    assert.equal(await allowing.source.poll('test'), 'activated');
  });

  test('a tampered cache is not used: with the control plane down, there is no policy (and the log says why)', async () => {
    const control = await controlPlane();
    const dir = tempDir('bundle-tampered');
    control.serve(await signBundle(policyYaml(4), 'p', ed25519.privateKey));
    const first = await sourceFor(control, { dir });
    assert.equal(await first.source.initial(), '4');
    await first.source.close();
    const cached = join(dir, 'cache', CACHE_FILE);
    writeFileSync(cached, readFileSync(cached, 'utf8').replace('read_file', 'write_file'));
    await control.close();
    const restarted = await sourceFor(control, { dir });
    assert.equal(await restarted.source.initial(), undefined);
    assert.match(restarted.logs.text(), /the cached bundle cannot be used/);
    assert.match(restarted.logs.text(), /signature does not verify/);
    assert.equal(restarted.source.status().revision, undefined);
  });

  test('a signed rollback below the cached revision is taken at start; a plain lower one is not', async () => {
    const control = await controlPlane();
    const dir = tempDir('bundle-rollback-start');
    control.serve(await signBundle(policyYaml(8), 'p', ed25519.privateKey));
    const first = await sourceFor(control, { dir });
    await first.source.initial();
    await first.source.close();
    control.serve(await signBundle(policyYaml(7), 'p', ed25519.privateKey, { rollback: true }));
    const restarted = await sourceFor(control, { dir });
    assert.equal(await restarted.source.initial(), '7');
    assert.equal(restarted.source.status().source, 'control-plane');
    assert.equal(restarted.source.status().revision, 7);
    assert.match(readFileSync(join(dir, 'cache', CACHE_FILE), 'utf8'), /revision: 7/, 'the rollback is the last known good now');
  });

  test('overlapping polls (a SIGHUP during a timed poll) share one request', async () => {
    const control = await controlPlane();
    control.serve(await signBundle(policyYaml(1), 'p', ed25519.privateKey));
    const { source, installed } = await sourceFor(control, { dir: tempDir('bundle-overlap') });
    await source.initial();
    control.serve(await signBundle(policyYaml(2), 'p', ed25519.privateKey));
    const before = control.requests.length;
    const [a, b] = await Promise.all([source.poll('poll'), source.poll('received SIGHUP')]);
    assert.equal(a, 'activated');
    assert.equal(b, 'activated');
    assert.equal(control.requests.length - before, 1);
    assert.deepEqual(installed, ['2']);
    assert.equal(source.status().fetches, 2);
  });
});
