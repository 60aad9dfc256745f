// store: redis against a real redis-server (started by the test on a free port; skipped, saying
// why, only where there is no redis-server to start): the lease script, NOSCRIPT, an outage and
// the recovery, and two replicas sharing one quota.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection } from 'node:net';
import { LeasedBuckets } from '../../../../components/policy/rules/rate-limit-redis.js';
import { connectRedisLeaseStore, type ClosableLeaseStore } from '../../../../components/rate-limit-store/index.js';
import { redisUnavailableReason, startRedis, type TestRedis } from '../../../helpers/redis.js';

const skip = redisUnavailableReason();

/** One raw command (RESP inline), for what the store itself never sends (SCRIPT FLUSH). */
async function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
  });
}

/** Until the store says `available` is `wanted` (the client reconnects in the background). */
async function until(store: ClosableLeaseStore, wanted: boolean): Promise<void> {
  for (let i = 0; i < 500 && store.available !== wanted; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(store.available, wanted);
}

/** Takes from `buckets` until it refuses, letting each lease land: how many were granted. */
async function drain(buckets: LeasedBuckets, key: string, now: number): Promise<number> {
  let granted = 0;
  for (let round = 0; round < 200; round++) {
    if (buckets.take(key, now) === 0) granted++;
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return granted;
}

describe('store: redis against a real Redis', { skip }, () => {
  let redis: TestRedis;
  let store: ClosableLeaseStore;
  before(async () => {
    redis = await startRedis();
    store = await connectRedisLeaseStore(redis.url, { timeoutMs: 500 });
  });
  after(async () => {
    await store?.close();
    await redis?.stop();
  });

  it('the lease script: a fresh bucket is full, grants whole tokens up to want, then says how long until the next', async () => {
    const request = { capacity: 5, refillPerSecond: 0.001, debt: 0, want: 3 };
    assert.deepEqual(await store.lease('t:fresh', request), { granted: 3, retryAfterMs: 0 });
    const second = await store.lease('t:fresh', request);
    assert.equal(second.granted, 2);
    assert.ok(second.retryAfterMs > 900_000, `one token at 0.001/s is ~1000 s away, got ${second.retryAfterMs}`);
    assert.equal((await store.lease('t:fresh', request)).granted, 0);
  });

  it('charges a credit even from an empty bucket, which later leases repay', async () => {
    const request = { capacity: 2, refillPerSecond: 0.001, debt: 0, want: 2 };
    assert.equal((await store.lease('t:debt', request)).granted, 2);
    const charged = await store.lease('t:debt', { ...request, debt: 1, want: 1 });
    assert.equal(charged.granted, 0);
    assert.ok(charged.retryAfterMs > 1_900_000, `two tokens owed at 0.001/s, got ${charged.retryAfterMs}`);
  });

  it('falls back to EVAL when Redis has forgotten the script (NOSCRIPT)', async () => {
    assert.match(await redisCommand(redis.port, 'SCRIPT FLUSH'), /^\+OK/);
    assert.equal((await store.lease('t:noscript', { capacity: 1, refillPerSecond: 1, debt: 0, want: 1 })).granted, 1);
  });

  it('expires an idle bucket when it would be full again', async () => {
    await store.lease('t:ttl', { capacity: 1, refillPerSecond: 1, debt: 0, want: 1 });
    const ttl = Number((await redisCommand(redis.port, 'PTTL t:ttl')).slice(1));
    assert.ok(ttl > 0 && ttl <= 2000, `full in 1 s, kept 1 s more: ${ttl}`);
  });

  it('two replicas share one quota: together they grant the burst, and at most one credit each beyond it', async () => {
    const shape = { ruleId: 'shared', capacity: 20, refillPerSecond: 0.001, lease: 3 };
    const replicaA = new LeasedBuckets({ store, ...shape });
    const replicaB = new LeasedBuckets({ store, ...shape });
    const [a, b] = await Promise.all([drain(replicaA, 'tool:search', 0), drain(replicaB, 'tool:search', 0)]);
    assert.ok(a > 0 && b > 0, `both replicas were served: ${a} and ${b}`);
    assert.ok(a + b >= 20 && a + b <= 22, `20 in the bucket, at most one credit per replica: ${a} + ${b}`);
  });

  it('a Redis down at start does not hold the store up, and is used once it comes up', async () => {
    const late = await startRedis();
    await late.stop();
    const lateStore = await connectRedisLeaseStore(late.url, { timeoutMs: 200 });
    try {
      assert.equal(lateStore.available, false);
      await late.start();
      await until(lateStore, true);
      assert.deepEqual(await lateStore.lease('t:late', { capacity: 3, refillPerSecond: 1, debt: 0, want: 2 }), { granted: 2, retryAfterMs: 0 });
    } finally {
      await lateStore.close();
      await late.stop();
    }
  });

  it('an outage: the lease fails, the store says unavailable; back, it leases again', async () => {
    await redis.stop();
    await assert.rejects(store.lease('t:outage', { capacity: 1, refillPerSecond: 1, debt: 0, want: 1 }));
    assert.equal(store.available, false);
    await redis.start();
    await until(store, true);
    assert.equal((await store.lease('t:outage', { capacity: 1, refillPerSecond: 1, debt: 0, want: 1 })).granted, 1);
  });
});
