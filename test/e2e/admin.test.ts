// The admin endpoint of the built proxy: the documented series, moving with traffic; /readyz
// through a restart of the server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ROOT, fixtureServer } from '../helpers/paths.js';
import { spawnProxy, type ProxyProcess } from '../helpers/proxy-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO = [process.execPath, join(ROOT, 'demo/mcp-middleware-platform/simple-mcp-server.js')];

async function startWithAdmin(t: TestContext, server: readonly string[], args: string[] = []): Promise<{ proxy: ProxyProcess; url: (path: string) => string }> {
  const proxy = spawnProxy(server, { args: ['--admin', '127.0.0.1:0', ...args], logLevel: 'info' });
  t.after(() => proxy.dispose());
  const record = await proxy.waitForLog((r) => r.msg?.startsWith('admin endpoint listening') === true);
  const base = record.address as string;
  return { proxy, url: (path) => `${base}${path}` };
}

/** The series docs/operations.md lists: the metrics table's first column. */
function documentedSeries(): string[] {
  const text = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  return [...text.matchAll(/^\| `(mcp_sidecar_[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

function sample(body: string, series: string, labels: Record<string, string> = {}): number {
  const line = body.split('\n').find((l) => l.startsWith(series) && !l.startsWith('#') && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('admin endpoint', () => {
  test('/metrics lists every documented series, and they move when traffic flows', async (t) => {
    const reportFile = join(tempDir('admin-e2e'), 'reports.ndjson');
    const { proxy, url } = await startWithAdmin(t, DEMO, ['--policy', 'policies/readonly.yaml', '--report-file', reportFile]);
    const before = await (await fetch(url('/metrics'))).text();
    const documented = documentedSeries();
    assert.ok(documented.length >= 10, `documented series: ${documented.join(', ')}`);
    for (const name of documented) assert.match(before, new RegExp(`^# TYPE ${name}`, 'm'), `${name} is exposed`);

    proxy.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/workspace/a' } } });
    proxy.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await proxy.nextFrame();
    await proxy.nextFrame();
    const after = await (await fetch(url('/metrics'))).text();
    assert.equal(sample(after, 'mcp_sidecar_frames_total', { direction: 'client-to-server', method: 'tools/call' }), 1);
    assert.equal(sample(after, 'mcp_sidecar_policy_decisions_total', { rule: 'read-only-tools', effect: 'deny', enforced: 'true' }), 1);
    assert.equal(sample(after, 'mcp_sidecar_invocation_duration_seconds_count', { method: 'tools/call', outcome: 'blocked' }), 1);
    assert.equal(sample(after, 'mcp_sidecar_policy_info', { name: 'readonly' }), 1);
    assert.equal(sample(after, 'mcp_sidecar_upstream_up'), 1);
    assert.ok(sample(after, 'mcp_sidecar_reports_written_total') >= 1, 'reports written are counted');
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.equal((await (await fetch(url('/version'))).json() as { name: string }).name, 'mcp-sidecar');
    assert.equal((await fetch(url('/nope'))).status, 404);
    assert.equal((await fetch(url('/metrics'), { method: 'POST' })).status, 405);
  });

  test('/readyz is 503 while the server restarts, and 200 again once it is back', async (t) => {
    const { proxy, url } = await startWithAdmin(t, [process.execPath, fixtureServer('scripted-server.js')], ['--restart-backoff-ms', '1500']);
    assert.equal((await fetch(url('/readyz'))).status, 200);
    proxy.send({ jsonrpc: '2.0', id: 1, method: 'fixture/exit', params: { code: 3 } });
    await proxy.nextFrame();
    const during = await fetch(url('/readyz'));
    assert.equal(during.status, 503);
    assert.match(((await during.json()) as { reason: string }).reason, /restart|backoff/i);
    const metrics = await (await fetch(url('/metrics'))).text();
    assert.equal(sample(metrics, 'mcp_sidecar_upstream_ready'), 0);
    const deadline = Date.now() + 5000;
    let status = 503;
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await fetch(url('/readyz'))).status;
    }
    assert.equal(status, 200, 'ready again after the restart');
    assert.equal(sample(await (await fetch(url('/metrics'))).text(), 'mcp_sidecar_upstream_restarts_total'), 1);
  });
});
