// Execution reports written by the built proxy: what an auditor gets from a real session.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { CLI, ROOT, fixtureServer } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir as makeTempDir } from '../helpers/temp-dir.js';

const DEMO = [process.execPath, join(ROOT, 'demo/mcp-middleware-platform/simple-mcp-server.js')];
const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const PASSWORD = 'correct-horse-battery-staple';

const tempDir = () => makeTempDir('reports-e2e');
const readLines = (file: string): any[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
/** The reports (invocation and lifecycle), without the checkpoints between them. */
const readReports = (file: string): any[] => readLines(file).filter((r) => r.kind !== 'checkpoint');
/** The policy in force for reports[i]: format 2 states it on an invocation after each checkpoint, and the next ones inherit it. */
const policyOf = (reports: any[], i: number): any => reports.slice(0, i + 1).reverse().find((r) => r.policy !== undefined)?.policy;
const verify = (...args: string[]) => spawnSync(process.execPath, [CLI, 'report', 'verify', ...args], { encoding: 'utf8' });
/** A report without what may differ between two runs. */
const withoutTiming = (line: string) => line.replace(/,"timing":\{[^}]*\}\}$/, '}');

function start(t: TestContext, args: string[], server: readonly string[] = DEMO): ProxyProcess {
  const proxy = spawnProxy(server, { args, logLevel: 'info' });
  t.after(() => proxy.dispose());
  return proxy;
}

async function call(proxy: ProxyProcess, id: number, method: string, params: object = {}) {
  proxy.send({ jsonrpc: '2.0', id, method, params });
  const { json } = await proxy.nextFrame(5000);
  assert.equal(json.id, id);
  return json;
}

/** The same scripted session every time: sequential, so the order of reports is fixed. */
async function scriptedSession(proxy: ProxyProcess, argumentsOrder: 'as-written' | 'reversed' = 'as-written') {
  const args = { path: '/workspace/README.md', note: `key ${SECRET}`, password: PASSWORD };
  const ordered = argumentsOrder === 'as-written' ? args : Object.fromEntries(Object.entries(args).reverse());
  await call(proxy, 1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'script', version: '1' } });
  proxy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await call(proxy, 2, 'tools/list');
  await call(proxy, 3, 'tools/call', { name: 'read_file', arguments: ordered });
  await call(proxy, 4, 'tools/call', { name: 'delete_file', arguments: { path: '/workspace/README.md' } });
  await call(proxy, 5, 'tools/call', { name: 'read_file', arguments: { path: '/etc/passwd' } });
  proxy.endInput();
  assert.equal((await proxy.waitForExit()).code, 0);
}

describe('execution reports from the proxy', () => {
  test('a scripted session run twice gives byte-identical reports but for the timing block', async (t) => {
    const dir = tempDir();
    const runs: string[][] = [];
    for (const [i, order] of (['as-written', 'reversed'] as const).entries()) {
      const file = join(dir, `run${i}.ndjson`);
      const proxy = start(t, ['--policy', 'policies/readonly.yaml', '--report-file', file]);
      await scriptedSession(proxy, order);
      runs.push(readFileSync(file, 'utf8').split('\n').filter(Boolean));
    }
    assert.ok(runs[0]!.length >= 7, `reports: ${runs[0]!.length}`);
    assert.deepEqual(runs[1]!.map(withoutTiming), runs[0]!.map(withoutTiming), 'argument key order does not change a byte');
    assert.notDeepEqual(runs[1], runs[0], 'the timing block does differ (clock readings, pid)');
  });

  test('each invocation is reported with its target, decisions, outcome and digests; the file verifies', async (t) => {
    const file = join(tempDir(), 'reports.ndjson');
    const proxy = start(t, ['--policy', 'policies/readonly.yaml', '--report-file', file]);
    await scriptedSession(proxy);
    const reports = readReports(file);
    assert.deepEqual(reports.map((r) => r.kind === 'lifecycle' ? `lifecycle:${r.event}` : `${r.method}:${r.target?.name ?? ''}:${r.outcome}`), [
      'lifecycle:spawn', 'initialize::forwarded', 'tools/list::forwarded', 'tools/call:read_file:forwarded', 'tools/call:delete_file:blocked',
      'tools/call:read_file:blocked', 'lifecycle:exit',
    ]);
    const [denied, outside] = [reports[4], reports[5]];
    assert.deepEqual(denied.decisions, [{ effect: 'deny', enforced: true, kind: 'tools', phase: 'request', reason: 'tool_not_allowed', ruleId: 'read-only-tools' }]);
    assert.equal(outside.decisions[0].ruleId, 'workspace-paths');
    assert.deepEqual(reports[2].decisions.map((d: any) => [d.ruleId, d.effect, d.phase]), [['hide-writers', 'rewrite', 'response']], 'response-phase decisions are recorded');
    assert.deepEqual([policyOf(reports, 4).name, policyOf(reports, 4).revision, denied.mode, denied.requestId], ['readonly', '1', 'enforce', '4']);
    assert.match(policyOf(reports, 4).digest, /^sha256:[0-9a-f]{64}$/);
    assert.match(reports[3].argumentsDigest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(reports[3].arguments, undefined, 'arguments are not recorded by default');
    assert.match(reports[3].responseDigest, /^sha256:/);
    assert.deepEqual(reports.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(reports[0].prevDigest, null);
    const last = readLines(file).at(-1);
    assert.deepEqual([last.kind, last.reason, last.reports, last.seq, last.prevDigest], ['checkpoint', 'close', 7, 8, reports[6].digest], 'a clean stop closes the file');
    const result = verify(file);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test('a secret in the arguments never reaches the report, with or without recorded arguments', async (t) => {
    for (const mode of ['digest', 'redacted']) {
      const file = join(tempDir(), 'reports.ndjson');
      const proxy = start(t, ['--policy', 'policies/readonly.yaml', '--report-file', file, '--report-arguments', mode]);
      await scriptedSession(proxy);
      const text = readFileSync(file, 'utf8');
      assert.ok(!text.includes(SECRET) && !text.includes(PASSWORD), `${mode}: a secret reached the report file`);
      const logs = proxy.stderr.bytes.toString('utf8');
      assert.ok(!logs.includes(SECRET) && !logs.includes(PASSWORD), `${mode}: a secret reached the logs`);
      if (mode === 'redacted') {
        const read = readReports(file).find((r) => r.target?.name === 'read_file');
        assert.deepEqual(read.arguments, { path: '/workspace/README.md', note: 'key [REDACTED:aws-access-key]', password: '[REDACTED:password-assignment]' });
      }
    }
  });

  test('the chain continues across runs of the proxy on the same file', async (t) => {
    const file = join(tempDir(), 'reports.ndjson');
    for (let run = 0; run < 2; run++) {
      const proxy = start(t, ['--report-file', file]);
      await call(proxy, 1, 'ping');
      proxy.endInput();
      await proxy.waitForExit();
    }
    // Each run: spawn, ping, exit, and the checkpoint its close wrote; the second starts with chain_resumed.
    const lines = readLines(file);
    assert.deepEqual(lines.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([lines[3].kind, lines[8].kind], ['checkpoint', 'checkpoint']);
    assert.deepEqual([lines[4].event, lines[4].detail, lines[4].prevDigest], ['chain_resumed', { previousDigest: lines[3].digest, previousSeq: 4 }, lines[3].digest]);
    assert.equal(lines[1].policy.name, 'none', 'without a policy file the report says so');
    assert.equal(lines[6].policy.name, 'none', 'a new run states the policy again');
    assert.equal(verify(file).status, 0);
  });

  test('signed reports verify with the public key and fail with another', async (t) => {
    const dir = tempDir();
    const key = (name: string) => {
      const pair = generateKeyPairSync('ed25519');
      writeFileSync(join(dir, `${name}.pem`), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(join(dir, `${name}.pub.pem`), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    };
    key('signer');
    key('other');
    const file = join(dir, 'reports.ndjson');
    const proxy = start(t, ['--report-file', file, '--report-signing-key', join(dir, 'signer.pem')]);
    await call(proxy, 1, 'ping');
    proxy.endInput();
    await proxy.waitForExit();
    // Format 2 signs checkpoints, each over the chain up to it; the clean stop wrote the last one.
    const lines = readLines(file);
    assert.ok(lines.every((r) => (r.kind === 'checkpoint') === (r.signature?.alg === 'ed25519')));
    assert.equal(lines.at(-1).reason, 'close');
    assert.ok(!proxy.stderr.bytes.toString('utf8').includes('PRIVATE KEY'), 'the key never reaches the logs');
    assert.equal(verify(file, '--public-key', join(dir, 'signer.pub.pem')).status, 0);
    assert.equal(verify(file, '--public-key', join(dir, 'other.pub.pem')).status, 1);
  });

  test('SIGKILL in the middle of a busy session leaves a file whose every complete line verifies', async (t) => {
    const file = join(tempDir(), 'reports.ndjson');
    const proxy = start(t, ['--report-file', file, '--report-fsync', 'never']);
    await call(proxy, 0, 'ping');
    for (let id = 1; id <= 3000; id++) proxy.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `call ${id}` } } });
    // Wait until reports are being written, then kill mid-stream.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (!existsSync(file) || readFileSync(file).length < 20_000)) await new Promise((resolve) => setTimeout(resolve, 5));
    proxy.child.kill('SIGKILL');
    await proxy.waitForExit();
    const result = verify(file);
    assert.ok(result.status === 0, `verify: ${result.stdout}${result.stderr}`);
    assert.ok(readReports(file).length > 10);
  });

  test('a server the allowlist refuses is reported as refused', async () => {
    const file = join(tempDir(), 'reports.ndjson');
    const result = spawnSync(process.execPath, [CLI, '--proxy', 'node /elsewhere/server.js', '--allow', 'node demo/', '--report-file', file], { encoding: 'utf8', cwd: ROOT });
    assert.equal(result.status, 78);
    const [refused] = readReports(file);
    assert.deepEqual([refused.kind, refused.event, refused.detail.command], ['lifecycle', 'refused', 'node /elsewhere/server.js']);
    assert.equal(verify(file).status, 0);
  });

  test('an unwritable report path is a clear error at start, exit 73, and the server never starts', async () => {
    const dir = tempDir();
    const cases = [join(dir, 'missing', 'reports.ndjson'), dir];
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o500);
      cases.push(join(locked, 'reports.ndjson'));
    }
    for (const path of cases) {
      const result = spawnSync(process.execPath, [CLI, '--proxy', `node ${fixtureServer('scripted-server.js')}`, '--allow', `node ${ROOT}`, '--report-file', path], { encoding: 'utf8', cwd: ROOT });
      assert.equal(result.status, 73, `${path}: ${result.stderr}`);
      assert.match(result.stderr, /report/i);
      assert.doesNotMatch(result.stderr, /started the MCP server/);
      assert.equal(result.stdout, '');
    }
  });

  test('a crash is reported as exit and restart, and the request it took as upstream_exited', async (t) => {
    const file = join(tempDir(), 'reports.ndjson');
    const proxy = start(t, ['--report-file', file, '--restart-backoff-ms', '50'], [process.execPath, fixtureServer('scripted-server.js')]);
    proxy.send({ jsonrpc: '2.0', id: 1, method: 'fixture/exit', params: { code: 3 } });
    const { json } = await proxy.nextFrame(5000);
    assert.equal(json.id, 1);
    await call(proxy, 2, 'ping');
    proxy.endInput();
    await proxy.waitForExit();
    const reports = readReports(file);
    const events = reports.map((r) => (r.kind === 'lifecycle' ? r.event : `${r.method}:${r.outcome}:g${r.generation}`));
    assert.deepEqual(events, ['spawn', 'exit', 'fixture/exit:upstream_exited:g0', 'restart', 'spawn', 'ping:forwarded:g1', 'exit']);
    assert.equal(reports[1].detail.exitCode, 3);
    assert.equal(verify(file).status, 0);
  });
});
