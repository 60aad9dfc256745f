// The circuit breaker through the built CLI, with a server that crashes when told: two crashes
// under requests open it (/readyz 503, one open breaker in the metrics, new requests fail fast with -32009
// and never reach the server); after the cool-down one probe passes and its answer closes it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixtureServer } from '../helpers/paths.js';
import { spawnProxy } from '../helpers/proxy-process.js';

function sample(body: string, series: string, labels: Record<string, string> = {}): number {
  const line = body.split('\n').find((l) => l.startsWith(series) && !l.startsWith('#') && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('circuit breaker', () => {
  test('opens after consecutive crashes, fails fast, shows in /readyz and the metrics, and closes on a good probe', async (t) => {
    const proxy = spawnProxy([process.execPath, fixtureServer('scripted-server.js')], {
      args: ['--admin', '127.0.0.1:0', '--circuit-failures', '2', '--circuit-cooldown-ms', '1500', '--restart-backoff-ms', '100', '--max-restarts', '10'],
      logLevel: 'info',
    });
    t.after(() => proxy.dispose());
    const base = (await proxy.waitForLog((r) => r.msg?.startsWith('admin endpoint listening') === true)).address as string;
    const readyz = async () => {
      const response = await fetch(`${base}/readyz`);
      return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
    };
    const metrics = async () => (await fetch(`${base}/metrics`)).text();

    for (const id of [1, 2]) {
      proxy.send({ jsonrpc: '2.0', id, method: 'fixture/exit', params: { code: 3 } });
      const { json } = await proxy.nextFrame(5000);
      assert.deepEqual([json.id, (json.error as { code: number }).code], [id, -32003]);
      if (id === 1) await proxy.waitForLog((r) => r.msg === 'started the MCP server' && r.generation === 1);
    }
    await proxy.waitForLog((r) => r.msg?.startsWith('the circuit breaker opened') === true);
    assert.equal(sample(await metrics(), 'mcp_sidecar_circuit_breakers', { state: 'open' }), 1);

    const receivedBefore = proxy.stderr.lines.filter((l) => l.toString().includes('received ping')).length;
    proxy.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    const { json: failedFast } = await proxy.nextFrame(5000);
    const error = failedFast.error as { code: number; data: { code: string; retryable: boolean; retryAfterMs: number } };
    assert.equal(failedFast.id, 3);
    assert.equal(error.code, -32009);
    assert.deepEqual([error.data.code, error.data.retryable], ['SIDECAR_ERR_CIRCUIT_OPEN', true]);
    assert.ok(error.data.retryAfterMs > 0 && error.data.retryAfterMs <= 1500, `retryAfterMs ${error.data.retryAfterMs}`);

    // Once the server is back from its restart, the breaker alone keeps the pod out of rotation.
    await until(async () => /circuit breaker is open/.test((await readyz()).body.reason ?? ''), 5000, '/readyz to name the breaker');
    assert.equal((await readyz()).status, 503);

    await until(async () => (await readyz()).status === 200, 5000, 'the cool-down to pass');
    proxy.send({ jsonrpc: '2.0', id: 4, method: 'ping' });
    assert.deepEqual((await proxy.nextFrame(5000)).json, { jsonrpc: '2.0', id: 4, result: {} }, 'the probe passes');
    await proxy.waitForLog((r) => r.msg?.startsWith('the circuit breaker closed') === true);
    const after = await metrics();
    assert.equal(sample(after, 'mcp_sidecar_circuit_breakers', { state: 'closed' }), 1);
    assert.equal(sample(after, 'mcp_sidecar_circuit_breakers', { state: 'open' }), 0);
    assert.deepEqual(['open', 'half-open', 'closed'].map((to) => sample(after, 'mcp_sidecar_circuit_transitions_total', { to })), [1, 1, 1]);
    assert.equal(proxy.stderr.lines.filter((l) => l.toString().includes('received ping')).length, receivedBefore + 1, 'the fast-failed ping never reached the server');
    proxy.assertStdoutClean();
  });
});
