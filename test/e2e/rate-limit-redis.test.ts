// Fleet-wide rate limits end to end: two built proxies (dist/cli.js), one policy with a
// `store: redis` rule, one real redis-server (started here on a free port; skipped, saying why,
// only where there is none): the quota holds across both; an unreachable Redis refuses under
// onStoreError deny without stopping the proxy; no --redis-url, no start.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { spawnProxy, type Frame, type ProxyProcess } from '../helpers/proxy-process.js';
import { redisUnavailableReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp-dir.js';

const DEMO = [process.execPath, join(ROOT, 'demo/mcp-middleware-platform/simple-mcp-server.js')];
const skip = redisUnavailableReason();

function policyFile(rateLimit: object): string {
  const file = join(tempDir('rate-limit-redis'), 'policy.yaml');
  writeFileSync(file, `${JSON.stringify({
    apiVersion: 'mcp-sidecar/v1',
    kind: 'Policy',
    metadata: { name: 'fleet-rate', revision: 1 },
    rules: [{ id: 'fleet-calls', rateLimit: { tools: ['*'], per: 'rule', store: 'redis', ...rateLimit } }],
  })}\n`);
  return file;
}

function start(t: TestContext, args: string[]): ProxyProcess {
  const proxy = spawnProxy(DEMO, { args, logLevel: 'info' });
  t.after(() => proxy.dispose());
  return proxy;
}

let nextId = 1;
async function echo(proxy: ProxyProcess): Promise<Frame> {
  const id = nextId++;
  proxy.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } });
  const { json } = await proxy.nextFrame(5000);
  assert.equal(json.id, id);
  return json;
}

describe('rateLimit store: redis across two proxies', { skip }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('two proxies share one quota: together they serve the burst (and at most one credit each), then both refuse', async (t) => {
    // 0.001/s: no token comes back during the test.
    const policy = policyFile({ capacity: 6, refillPerSecond: 0.001, lease: 2 });
    const replicas = [start(t, ['--policy', policy, '--redis-url', redis.url]), start(t, ['--policy', policy, '--redis-url', redis.url])];
    const served = [0, 0];
    let last: Frame | undefined;
    for (let i = 0; i < 30; i++) {
      last = await echo(replicas[i % 2]!);
      if (last.result !== undefined) served[i % 2]! += 1;
      else assert.equal(last.error?.code, -32011, JSON.stringify(last));
    }
    const total = served[0]! + served[1]!;
    assert.ok(served[0]! > 0 && served[1]! > 0, `both proxies served some: ${served.join(' + ')}`);
    assert.ok(total >= 6 && total <= 8, `6 in the fleet's bucket, at most one credit per proxy: ${served.join(' + ')}`);
    assert.equal(last?.error?.data?.reason, 'rate_limited');
    assert.match(String(last?.error?.message), /rate limit for these requests exceeded/);
  });

  test('an unreachable Redis: the proxy starts, and onStoreError deny refuses what it cannot count', async (t) => {
    const down = await startRedis();
    await down.stop();
    const proxy = start(t, ['--policy', policyFile({ capacity: 5, refillPerSecond: 1 }), '--redis-url', down.url]);
    const refused = await echo(proxy);
    assert.deepEqual([refused.error?.code, refused.error?.data?.reason, refused.error?.data?.category], [-32011, 'rate_limit_store_unavailable', 'transient_error']);
    await proxy.waitForLog((record) => record.msg === 'rate-limit store (Redis) unavailable: store: redis rules follow onStoreError');
  });
});

describe('rateLimit store: redis without --redis-url', () => {
  test('refuses to start: the policy is invalid (exit 78), never a per-proxy limit in disguise', async (t) => {
    const proxy = start(t, ['--policy', policyFile({ capacity: 5, refillPerSecond: 1 })]);
    assert.equal((await proxy.waitForExit()).code, 78);
    assert.ok(proxy.logs().some((record) => /store: redis needs a Redis: give --redis-url/.test(JSON.stringify(record))), JSON.stringify(proxy.logs()));
  });
});
