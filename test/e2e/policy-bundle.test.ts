// Policy bundles end to end through the built proxy: an in-test control plane (node:http)
// serving bundles signed in the test, the demo server behind the proxy, the admin endpoint's
// /metrics and /readyz, SIGHUP, the last known good cache across a restart, and the refusals
// at start (exit 78 with no policy at all, exit 2 without a key).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { signBundle, verifyBundle } from '../../components/policy-bundle/index.js';
import { startBundleServer } from '../components/policy-bundle/bundle-server.js';
import { sample } from '../components/metrics/exposition.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { modulesLoaded } from '../helpers/loaded-modules.js';

const DEMO = [process.execPath, join(ROOT, 'demo/mcp-middleware-platform/simple-mcp-server.js')];

/** Revision n of the fleet's policy: the tools it allows (the demo server has echo, read_file, delete_file). */
const policyYaml = (revision: number, tools: readonly string[]): string => `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: fleet, revision: ${revision} }
mode: enforce
rules:
  - id: fleet-tools
    tools: { allow: [${tools.join(', ')}] }
`;

const keys = generateKeyPairSync('ed25519');

interface Keys {
  readonly privateKey: string;
  readonly publicKey: string;
}

function writeKeys(dir: string): Keys {
  const privateKey = join(dir, 'bundle-key.pem');
  const publicKey = join(dir, 'bundle-key.pub.pem');
  writeFileSync(privateKey, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(publicKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey };
}

const sign = (revision: number, tools: readonly string[], rollback = false): Promise<string> =>
  signBundle(policyYaml(revision, tools), 'policy.yaml', keys.privateKey, { rollback });

const digestOf = async (bundle: string): Promise<string> => (await verifyBundle(Buffer.from(bundle), 'bundle', keys.publicKey, false)).loaded.digest;

async function startWithAdmin(t: TestContext, args: string[]): Promise<{ proxy: ProxyProcess; get: (path: string) => Promise<Response> }> {
  const proxy = spawnProxy(DEMO, { args: ['--admin', '127.0.0.1:0', ...args], logLevel: 'info' });
  t.after(() => proxy.dispose());
  const record = await proxy.waitForLog((r) => r.msg?.startsWith('admin endpoint listening') === true);
  const base = record.address as string;
  return { proxy, get: (path) => fetch(`${base}${path}`) };
}

let nextId = 1;
/** A tools/call's result text, or the rule of the policy that denied it. */
async function callTool(proxy: ProxyProcess, name: string, args: object): Promise<{ text: string; deniedBy: string | undefined }> {
  const id = nextId++;
  proxy.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  const { json } = await proxy.nextFrame(5000);
  assert.equal(json.id, id);
  if (json.error !== undefined) {
    assert.equal(json.error.data?.code, 'SIDECAR_ERR_POLICY_DENIED', JSON.stringify(json.error));
    return { text: json.error.message, deniedBy: json.error.data.ruleId };
  }
  return { text: String(json.result?.content?.[0]?.text ?? ''), deniedBy: undefined };
}

const metricsText = async (get: (path: string) => Promise<Response>): Promise<string> => (await get('/metrics')).text();
const readyz = async (get: (path: string) => Promise<Response>): Promise<{ status: number; body: { ready: boolean; policy?: string } }> => {
  const response = await get('/readyz');
  return { status: response.status, body: await response.json() as { ready: boolean; policy?: string } };
};

describe('policy bundles through the built proxy', () => {
  test('the bundle denies; a new revision on SIGHUP applies; a lower one is refused; a restart without the control plane starts from the cache', async (t) => {
    const dir = tempDir('bundle-e2e');
    const { privateKey, publicKey } = writeKeys(dir);
    const cacheDir = join(dir, 'cache');
    const control = await startBundleServer();
    after(() => control.close());

    // Revision 1, signed by the CLI as an operator would: echo and read_file, never delete_file.
    writeFileSync(join(dir, 'policy.yaml'), policyYaml(1, ['read_file', 'echo']));
    const signed = spawnSync(process.execPath, [CLI, 'bundle', 'sign', join(dir, 'policy.yaml'), '--key', privateKey, '--out', join(dir, 'policy.bundle')], { encoding: 'utf8' });
    assert.equal(signed.status, 0, signed.stderr);
    const revision1 = readFileSync(join(dir, 'policy.bundle'), 'utf8');
    control.serve(revision1);

    const args = ['--policy-url', control.url, '--policy-public-key', publicKey, '--policy-cache-dir', cacheDir];
    const first = await startWithAdmin(t, args);
    await first.proxy.waitForLog((r) => r.msg === 'policy bundle from the control plane' && r.revision === 1);
    assert.equal((await callTool(first.proxy, 'delete_file', { path: '/workspace/README.md' })).deniedBy, 'fleet-tools', 'revision 1 denies delete_file');
    assert.equal((await callTool(first.proxy, 'echo', { text: 'hi' })).text, 'HI', 'revision 1 allows echo');

    let metrics = await metricsText(first.get);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_fetches_total'), 1);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_activations_total'), 1);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_info', { revision: '1', digest: await digestOf(revision1), source: 'control-plane' }), 1);
    assert.ok((sample(metrics, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds') ?? 0) > 0, 'the last success is stamped');
    assert.equal(sample(metrics, 'mcp_sidecar_policy_info', { name: 'fleet', revision: '1', digest: await digestOf(revision1), mode: 'enforce' }), 1);
    let ready = await readyz(first.get);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.policy, `revision 1 from ${control.url}`);

    // Revision 2 takes echo away; SIGHUP polls at once.
    const revision2 = await sign(2, ['read_file']);
    control.serve(revision2);
    first.proxy.child.kill('SIGHUP');
    await first.proxy.waitForLog((r) => r.msg === 'policy reloaded' && r.revision === '2' && r.why === 'policy bundle');
    assert.equal((await callTool(first.proxy, 'echo', { text: 'hi' })).deniedBy, 'fleet-tools', 'revision 2 denies echo');
    assert.match((await callTool(first.proxy, 'read_file', { path: '/workspace/README.md' })).text, /Demo workspace/);
    metrics = await metricsText(first.get);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_fetches_total'), 2);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_activations_total'), 2);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_info', { revision: '2', digest: await digestOf(revision2), source: 'control-plane' }), 1);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_info', { revision: '1', digest: await digestOf(revision1), source: 'control-plane' }), undefined, 'one info series: the bundle in force');
    assert.equal((await readyz(first.get)).body.policy, `revision 2 from ${control.url}`);
    assert.equal(control.requests.at(-1)!.ifNoneMatch !== undefined, true, 'the poll sent If-None-Match');

    // A replayed old bundle (revision 1, not signed as a rollback) is refused: revision 2 stays.
    control.serve(await sign(1, ['read_file', 'echo', 'delete_file']));
    first.proxy.child.kill('SIGHUP');
    const refused = await first.proxy.waitForLog((r) => r.msg === 'policy bundle refused; the policy in force stays');
    assert.equal(refused.reason, 'revision');
    assert.equal((await callTool(first.proxy, 'echo', { text: 'hi' })).deniedBy, 'fleet-tools', 'revision 2 still in force');
    assert.equal((await callTool(first.proxy, 'delete_file', { path: '/workspace/README.md' })).deniedBy, 'fleet-tools');
    metrics = await metricsText(first.get);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_failures_total', { reason: 'revision' }), 1);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_activations_total'), 2);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_info', { revision: '2', digest: await digestOf(revision2), source: 'control-plane' }), 1);
    ready = await readyz(first.get);
    assert.equal(ready.status, 200, 'a refused bundle never makes the pod unready');
    assert.match(ready.body.policy ?? '', /^revision 2 from .*; last poll: .*lower than the revision in force \(2\)/);

    first.proxy.endInput();
    assert.equal((await first.proxy.waitForExit()).code, 0);
    first.proxy.assertStdoutClean();

    // The control plane goes away; the restarted proxy starts from the last known good bundle.
    await control.close();
    const second = await startWithAdmin(t, args);
    const fromCache = await second.proxy.waitForLog((r) => r.msg === 'policy bundle: the last known good bundle from the cache is in force');
    assert.equal(fromCache.revision, 2);
    await second.proxy.waitForLog((r) => r.msg === 'policy in force' && r.source === 'cache');
    assert.equal((await callTool(second.proxy, 'echo', { text: 'hi' })).deniedBy, 'fleet-tools', 'the cached revision 2 is enforced');
    assert.match((await callTool(second.proxy, 'read_file', { path: '/workspace/README.md' })).text, /Demo workspace/);
    ready = await readyz(second.get);
    assert.equal(ready.status, 200, 'ready through the outage: the policy in force is the last known good');
    assert.match(ready.body.policy ?? '', new RegExp(`^revision 2, the last known good bundle \\(${control.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} not reached since start\\)`));
    metrics = await metricsText(second.get);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_info', { revision: '2', digest: await digestOf(revision2), source: 'cache' }), 1);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_failures_total', { reason: 'unreachable' }), 1);
    // Absent or 0 (prom-client shows an unlabelled gauge it reset as 0): no poll succeeded since start.
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_last_success_timestamp_seconds') ?? 0, 0, 'no poll succeeded since start');
    second.proxy.endInput();
    assert.equal((await second.proxy.waitForExit()).code, 0);
  });

  test('no control plane, no cache and no --policy: exit 78 before any server starts, saying why', async (t) => {
    const dir = tempDir('bundle-e2e-none');
    const { publicKey } = writeKeys(dir);
    const control = await startBundleServer();
    await control.close(); // nothing listens at the URL
    const proxy = spawnProxy(DEMO, { args: ['--policy-url', control.url, '--policy-public-key', publicKey, '--policy-cache-dir', join(dir, 'empty-cache')], logLevel: 'info' });
    t.after(() => proxy.dispose());
    const exit = await proxy.waitForExit();
    const stderr = proxy.stderr.bytes.toString('utf8');
    assert.equal(exit.code, 78, stderr);
    assert.match(stderr, /mcp-sidecar: No policy is available to enforce: .* gave no bundle that could be used, .*empty-cache holds no usable bundle, and no --policy file is given/);
    assert.match(stderr, /hint: make the control plane reachable, or give --policy <file> as the fallback/);
    assert.equal(proxy.logs().some((r) => r.msg === 'started the MCP server'), false, 'never silently unpoliced: no server was started');
    assert.equal(proxy.stdout.lines.length, 0);
  });

  test('no control plane and no cache, with --policy: the file is in force until a bundle arrives, and /readyz says so', async (t) => {
    const dir = tempDir('bundle-e2e-file');
    const { publicKey } = writeKeys(dir);
    const control = await startBundleServer();
    await control.close();
    const { proxy, get } = await startWithAdmin(t, ['--policy-url', control.url, '--policy-public-key', publicKey, '--policy', 'policies/readonly.yaml']);
    await proxy.waitForLog((r) => r.msg === 'policy bundle: none could be had; the --policy file is in force until one arrives');
    // The readonly policy answers a refused tool call with a tool result that is an error.
    assert.match((await callTool(proxy, 'delete_file', { path: '/workspace/README.md' })).text, /Denied by policy/, 'the readonly file denies delete_file');
    const ready = await readyz(get);
    assert.equal(ready.status, 200);
    assert.match(ready.body.policy ?? '', /^the --policy file \(no bundle from .* yet\)/);
    const metrics = await metricsText(get);
    assert.equal(sample(metrics, 'mcp_sidecar_policy_bundle_info', { revision: '', digest: '', source: 'file' }), 1);
    proxy.endInput();
    assert.equal((await proxy.waitForExit()).code, 0);
  });

  test('--policy-url without a key and without --policy-allow-unsigned is a configuration error (exit 2)', () => {
    const result = spawnSync(process.execPath, [CLI, '--proxy', 'node demo/mcp-middleware-platform/simple-mcp-server.js', '--allow', 'node demo/', '--policy-url', 'http://127.0.0.1:9/bundle'], {
      cwd: ROOT, input: '', encoding: 'utf8',
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--policy-url needs a key to check the bundles it serves/);
    assert.match(result.stderr, /hint: give --policy-public-key <pem> or --policy-jwks-url <url>/);
  });

  test('the passthrough and a --policy file load neither the bundle component nor undici, jose or p-retry; --policy-url does', () => {
    const bundleModules = (urls: string[]) => urls.filter((url) => /node_modules\/(undici|jose|p-retry)\/|components\/policy-bundle\//.test(url));
    assert.deepEqual(bundleModules(modulesLoaded([])), []);
    assert.deepEqual(bundleModules(modulesLoaded(['--policy', 'policies/readonly.yaml'])), []);
    const dir = tempDir('bundle-lazy');
    const { publicKey } = writeKeys(dir);
    // Nothing listens on port 9: the --policy file is the fallback, and the bundle machinery is loaded.
    const loaded = bundleModules(modulesLoaded(['--policy-url', 'http://127.0.0.1:9/bundle', '--policy-public-key', publicKey, '--policy', 'policies/readonly.yaml']));
    for (const name of ['components/policy-bundle/', 'node_modules/undici/', 'node_modules/jose/', 'node_modules/p-retry/']) {
      assert.ok(loaded.some((url) => url.includes(name)), `${name} loads with --policy-url`);
    }
  });
});

