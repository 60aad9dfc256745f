// The policy bundle series (watchPolicyBundle), read from a real bundle source: a control plane
// over node:http, real signatures, the source on a fake clock (so the last success is exact).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createMetrics, type Metrics } from '../../../components/metrics/index.js';
import { createPolicyBundleSource, signBundle, verifyBundle } from '../../../components/policy-bundle/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { policyYaml, startBundleServer } from '../policy-bundle/bundle-server.js';
import { sample, samples, types } from './exposition.js';

const keys = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');

const sign = (revision: number, key = keys.privateKey): Promise<string> => signBundle(policyYaml(revision), 'policy.yaml', key);
const digestOf = async (bundle: string): Promise<string> => (await verifyBundle(Buffer.from(bundle), 'b', keys.publicKey, false)).loaded.digest;
const render = async (metrics: Metrics): Promise<string> => (await metrics.render()).body;

describe('policy bundle metrics', () => {
  it('without --policy-url: the counters are 0, and neither the info nor the last success series has a sample', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.watchPolicyBundle(() => undefined);
    const body = await render(metrics);
    const found = types(body);
    assert.equal(found.get('mcp_sidecar_policy_bundle_fetches_total'), 'counter');
    assert.equal(found.get('mcp_sidecar_policy_bundle_failures_total'), 'counter');
    assert.equal(found.get('mcp_sidecar_policy_bundle_activations_total'), 'counter');
    assert.equal(found.get('mcp_sidecar_policy_bundle_info'), 'gauge');
    assert.equal(found.get('mcp_sidecar_policy_bundle_last_success_timestamp_seconds'), 'gauge');
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_fetches_total'), 0);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_activations_total'), 0);
    assert.deepEqual(samples(body, 'mcp_sidecar_policy_bundle_failures_total'), []);
    assert.deepEqual(samples(body, 'mcp_sidecar_policy_bundle_info'), []);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds') ?? 0, 0);
  });

  it('follows the source: fetches, activations, failures by reason, the bundle in force and the last success', async () => {
    const dir = tempDir('bundle-metrics');
    const publicKeyFile = join(dir, 'public.pem');
    writeFileSync(publicKeyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const control = await startBundleServer();
    after(() => control.close());
    const clock = new FakeClock();
    clock.advance(1_700_000_000_000); // a plausible epoch time, so the gauge's seconds are checked exactly
    const source = await createPolicyBundleSource({
      settings: { url: control.url, pollMs: 30_000, publicKeyFile, jwksUrl: undefined, allowUnsigned: false, cacheDir: join(dir, 'cache'), retries: 0 },
      logger: captureLogs('warn').logger, clock, random: seededRandom(17),
      compile: async (loaded) => loaded.digest,
      install: () => {},
    });
    after(() => source.close());
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.watchPolicyBundle(() => source.status());

    const one = await sign(1);
    control.serve(one);
    await source.initial();
    let body = await render(metrics);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_fetches_total'), 1);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_activations_total'), 1);
    assert.deepEqual(samples(body, 'mcp_sidecar_policy_bundle_info'), [`mcp_sidecar_policy_bundle_info{revision="1",digest="${await digestOf(one)}",source="control-plane"} 1`]);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds'), 1_700_000_000);

    // A 304 is a success: the stamp moves, nothing else does but the fetch count.
    clock.advance(5000);
    assert.equal(await source.poll('test'), 'not-modified');
    body = await render(metrics);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_fetches_total'), 2);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_activations_total'), 1);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds'), 1_700_000_005);

    // Refusals are counted by reason; the stamp and the bundle in force stay.
    clock.advance(5000);
    control.serve(await sign(2, stranger.privateKey));
    assert.equal(await source.poll('test'), 'rejected');
    control.failWith(503);
    assert.equal(await source.poll('test'), 'failed');
    control.failWith(false);
    body = await render(metrics);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_failures_total', { reason: 'signature' }), 1);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_failures_total', { reason: 'http_status' }), 1);
    assert.equal(samples(body, 'mcp_sidecar_policy_bundle_failures_total').length, 2, 'a reason that never happened has no sample');
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_fetches_total'), 4);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds'), 1_700_000_005);
    assert.deepEqual(samples(body, 'mcp_sidecar_policy_bundle_info'), [`mcp_sidecar_policy_bundle_info{revision="1",digest="${await digestOf(one)}",source="control-plane"} 1`]);

    // A new revision: one info series, the new one's.
    const three = await sign(3);
    control.serve(three);
    assert.equal(await source.poll('test'), 'activated');
    body = await render(metrics);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_activations_total'), 2);
    assert.deepEqual(samples(body, 'mcp_sidecar_policy_bundle_info'), [`mcp_sidecar_policy_bundle_info{revision="3",digest="${await digestOf(three)}",source="control-plane"} 1`]);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds'), 1_700_000_010);
  });

  it('a reader that throws costs the scrape nothing: the series are empty, not an error', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.watchPolicyBundle(() => {
      throw new Error('the source is gone');
    });
    const body = await render(metrics);
    assert.equal(sample(body, 'mcp_sidecar_policy_bundle_fetches_total'), 0);
    assert.deepEqual(samples(body, 'mcp_sidecar_policy_bundle_info'), []);
  });
});
