// Policy bundles end to end inside the process: a real HTTP control plane (node:http), real
// signatures (Ed25519 and P-256), the poller on a fake clock.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CACHE_FILE, createPolicyBundleSource, readCachedBundle, signBundle, verifyBundle, type PolicyBundleSettings, type PolicyBundleSource,
} from '../../../components/policy-bundle/index.js';
import { createPolicyHolder } from '../../../components/runtime/policy-holder.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { waitForValue } from '../../helpers/wait.js';
import { startBundleServer, type BundleServer } from './bundle-server.js';

const policyYaml = (revision: number | string, tool = 'read_file'): string => `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: fleet, revision: ${revision} }
mode: enforce
rules:
  - id: only-reads
    tools: { allow: [${tool}] }
`;

const ed25519 = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ed25519');

function keyFile(dir: string, key: KeyObject): string {
  const file = join(dir, 'public.pem');
  writeFileSync(file, key.export({ type: 'spki', format: 'pem' }));
  return file;
}

const sign = (revision: number, options: { rollback?: boolean; key?: KeyObject; tool?: string } = {}) =>
  signBundle(policyYaml(revision, options.tool), 'policy.yaml', options.key ?? ed25519.privateKey, { rollback: options.rollback });

interface Harness {
  readonly server: BundleServer;
  readonly clock: FakeClock;
  readonly source: PolicyBundleSource<{ revision: string; digest: string }>;
  readonly installed: string[];
  readonly logs: ReturnType<typeof captureLogs>;
}

async function harness(settings: Partial<PolicyBundleSettings> & { dir: string }, server?: BundleServer): Promise<Harness> {
  const control = server ?? await startBundleServer();
  if (server === undefined) after(() => control.close());
  const clock = new FakeClock();
  const logs = captureLogs('debug');
  const installed: string[] = [];
  const source = await createPolicyBundleSource({
    settings: {
      url: control.url, pollMs: 30_000, publicKeyFile: keyFile(settings.dir, ed25519.publicKey), jwksUrl: undefined, allowUnsigned: false,
      cacheDir: join(settings.dir, 'cache'), retries: 0, ...settings,
    },
    logger: logs.logger, clock, random: seededRandom(17),
    compile: async (loaded) => ({ revision: loaded.document.metadata.revision, digest: loaded.digest }),
    install: (policy) => void installed.push(policy.revision),
  });
  after(() => source.close());
  return { server: control, clock, source, installed, logs };
}

describe('bundle signatures', () => {
  test('EdDSA and ES256 bundles verify; the bundle is still a policy file (the signature is a comment)', async () => {
    for (const pair of [ed25519, p256]) {
      const bundle = await signBundle(policyYaml(4), 'policy.yaml', pair.privateKey);
      assert.match(bundle, /^#mcp-sidecar-bundle\/1 jws=[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\n$/m);
      assert.ok(bundle.startsWith(policyYaml(4)));
      const verified = await verifyBundle(Buffer.from(bundle), 'b', pair.publicKey, false);
      assert.equal(verified.revision, 4);
      assert.equal(verified.signed, true);
      assert.equal(verified.rollback, false);
    }
  });

  test('a changed byte, another key, no signature, or a revision that is not a whole number is refused', async () => {
    const bundle = await sign(5);
    await assert.rejects(verifyBundle(Buffer.from(bundle.replace('read_file', 'read_fils')), 'b', ed25519.publicKey, false), { reason: 'signature' });
    await assert.rejects(verifyBundle(Buffer.from(bundle), 'b', stranger.publicKey, false), { reason: 'signature' });
    await assert.rejects(verifyBundle(Buffer.from(policyYaml(5)), 'b', ed25519.publicKey, false), { reason: 'unsigned', code: 'SIDECAR_ERR_POLICY_BUNDLE_REJECTED' });
    assert.equal((await verifyBundle(Buffer.from(policyYaml(5)), 'b', undefined, true)).signed, false);
    await assert.rejects(signBundle(policyYaml('"v5"'), 'p', ed25519.privateKey), /whole number/);
    await assert.rejects(verifyBundle(Buffer.from(policyYaml('"v5"')), 'b', undefined, true), { reason: 'revision' });
  });

  test('the revision the header signs must be the policy\'s own', async () => {
    const five = await sign(5);
    const signatureLine = five.slice(five.lastIndexOf('#mcp-sidecar-bundle'));
    // The signature of revision 5 under the YAML of revision 6: the payload no longer matches.
    await assert.rejects(verifyBundle(Buffer.from(policyYaml(6) + signatureLine), 'b', ed25519.publicKey, false), { reason: 'signature' });
  });
});

describe('the bundle source', () => {
  test('rotates revisions, sends If-None-Match, takes a 304 as no change, and keeps the last known good (0600)', async () => {
    const dir = tempDir('bundle-rotate');
    const h = await harness({ dir });
    h.server.serve(await sign(1));
    assert.deepEqual(await h.source.initial(), { revision: '1', digest: (await verifyBundle(Buffer.from(await sign(1)), 'b', ed25519.publicKey, false)).loaded.digest });
    h.source.startPolling();
    assert.equal(await h.source.poll('test'), 'not-modified');
    assert.ok(h.server.requests[1]!.ifNoneMatch !== undefined && h.server.requests[1]!.status === 304);
    h.server.serve(await sign(2));
    assert.equal(await h.source.poll('test'), 'activated');
    assert.deepEqual(h.installed, ['2']);
    const status = h.source.status();
    assert.equal(status.revision, 2);
    assert.equal(status.activations, 2); // the start's and this one
    assert.equal(status.source, 'control-plane');
    assert.equal(Buffer.from(readCachedBundle(join(dir, 'cache'))!).toString(), await sign(2));
    assert.equal(statSync(join(dir, 'cache', CACHE_FILE)).mode & 0o777, 0o600);
  });

  test('polls on the clock, every pollMs within ±10%', async () => {
    const h = await harness({ dir: tempDir('bundle-timer') });
    h.server.serve(await sign(1));
    await h.source.initial();
    h.source.startPolling();
    const [timer] = h.clock.pending();
    assert.ok(timer !== undefined && timer.ms >= 27_000 && timer.ms <= 33_000, `first poll in ${timer?.ms} ms`);
    h.server.serve(await sign(2));
    h.clock.advance(timer.ms);
    await waitForValue(() => h.installed.includes('2'), 'the polled bundle in force');
    await waitForValue(() => h.clock.pending().length === 1, 'the next poll scheduled');
  });

  test('a bad signature, a lower revision, and the same revision with other content are refused; the policy in force stays', async () => {
    const h = await harness({ dir: tempDir('bundle-refuse') });
    h.server.serve(await sign(3));
    await h.source.initial();
    h.server.serve(await sign(4, { key: stranger.privateKey }));
    assert.equal(await h.source.poll('test'), 'rejected');
    h.server.serve(await sign(2));
    assert.equal(await h.source.poll('test'), 'rejected');
    h.server.serve(await sign(3, { tool: 'list_directory' }));
    assert.equal(await h.source.poll('test'), 'rejected');
    assert.deepEqual(h.installed, []);
    const status = h.source.status();
    assert.equal(status.revision, 3);
    assert.equal(status.failures.signature, 1);
    assert.equal(status.failures.revision, 2);
    assert.match(h.logs.text(), /policy bundle refused; the policy in force stays/);
  });

  test('a signed rollback goes back to a lower revision', async () => {
    const h = await harness({ dir: tempDir('bundle-rollback') });
    h.server.serve(await sign(7));
    await h.source.initial();
    h.server.serve(await sign(6, { rollback: true }));
    assert.equal(await h.source.poll('test'), 'activated');
    assert.equal(h.source.status().revision, 6);
  });

  test('the control plane down at start: the cached bundle is in force; down mid-run: the policy in force stays', async () => {
    const dir = tempDir('bundle-down');
    const first = await harness({ dir });
    first.server.serve(await sign(9));
    await first.source.initial();
    await first.source.close();
    await first.server.close();
    // A restart with nothing listening at the URL.
    const restarted = await harness({ dir, url: first.server.url }, first.server);
    assert.equal((await restarted.source.initial())?.revision, '9');
    assert.equal(restarted.source.status().source, 'cache');
    assert.equal(restarted.source.status().failures.unreachable, 1);
    assert.equal(await restarted.source.poll('test'), 'failed');
    assert.equal(restarted.source.status().revision, 9);
    assert.deepEqual(restarted.installed, []);
  });

  test('the cache is a floor: a lower revision served at start is refused in favour of the cached one', async () => {
    const dir = tempDir('bundle-floor');
    const h = await harness({ dir });
    h.server.serve(await sign(5));
    await h.source.initial();
    await h.source.close();
    h.server.serve(await sign(4));
    const restarted = await harness({ dir }, h.server);
    assert.equal((await restarted.source.initial())?.revision, '5');
    assert.equal(restarted.source.status().failures.revision, 1);
  });

  test('no control plane and no cache: no policy (the holder refuses to start, exit 78)', async () => {
    const server = await startBundleServer();
    await server.close();
    const dir = tempDir('bundle-none');
    const h = await harness({ dir, url: server.url }, server);
    assert.equal(await h.source.initial(), undefined);
    const { logger } = captureLogs('warn');
    await assert.rejects(
      createPolicyHolder(undefined, undefined, logger, new FakeClock(), undefined, {
        url: server.url, pollMs: 30_000, publicKeyFile: keyFile(dir, ed25519.publicKey), jwksUrl: undefined, allowUnsigned: false, cacheDir: join(dir, 'empty'), retries: 0,
      }),
      { code: 'SIDECAR_ERR_POLICY_NONE', message: /gave no bundle that could be used/ },
    );
  });

  test('a slow answer times out on the clock: headers that never come, a body that never ends', async () => {
    const h = await harness({ dir: tempDir('bundle-slow'), timeoutMs: 2000 });
    h.server.serve(await sign(1));
    await h.source.initial();
    for (const how of ['headers', 'body'] as const) {
      h.server.stall(how);
      const before = h.server.requests.length;
      const poll = h.source.poll('test');
      await waitForValue(() => h.server.requests.length > before, 'the request at the server');
      h.clock.advance(2000);
      assert.equal(await poll, 'failed');
    }
    assert.equal(h.source.status().failures.timeout, 2);
    assert.equal(h.source.status().revision, 1);
  });

  test('a body over the cap is refused as it streams in; an HTTP error is a failure', async () => {
    const h = await harness({ dir: tempDir('bundle-huge'), maxBytes: 64 * 1024 });
    h.server.serve(await sign(1));
    await h.source.initial();
    h.server.serve(Buffer.alloc(1024 * 1024, 0x23));
    assert.equal(await h.source.poll('test'), 'failed');
    assert.equal(h.source.status().failures.too_large, 1);
    h.server.failWith(503);
    assert.equal(await h.source.poll('test'), 'failed');
    assert.equal(h.source.status().failures.http_status, 1);
    assert.equal(h.source.status().revision, 1);
  });

  test('the holder swaps the compiled policy whole when a new bundle arrives', async () => {
    const server = await startBundleServer();
    after(() => server.close());
    const dir = tempDir('bundle-holder');
    server.serve(await sign(1));
    const clock = new FakeClock();
    const holder = await createPolicyHolder(undefined, undefined, captureLogs('warn').logger, clock, undefined, {
      url: server.url, pollMs: 30_000, publicKeyFile: keyFile(dir, ed25519.publicKey), jwksUrl: undefined, allowUnsigned: false, cacheDir: join(dir, 'cache'), retries: 0,
    });
    after(() => holder.close());
    const first = holder.current;
    assert.equal(first.revision, '1');
    server.serve(await sign(2));
    assert.equal(await holder.reload('received SIGHUP'), true);
    assert.equal(holder.current.revision, '2');
    assert.notEqual(holder.current, first);
    assert.equal(holder.bundle?.status().revision, 2);
  });
});
