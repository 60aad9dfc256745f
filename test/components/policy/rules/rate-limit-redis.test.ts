// store: redis, against a scripted lease store: the synchronous check over leased tokens, the
// credit for a key held nothing for, Redis's "empty until", and onStoreError. The same rule
// against a real Redis is rate-limit-redis-store.test.ts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { RateLimitRule } from '../../../../components/policy/document/document.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import type { Rule, Verdict } from '../../../../components/policy/engine/types.js';
import { createRateLimitRules } from '../../../../components/policy/rules/rate-limit.js';
import { defaultLease, LEASE_PENDING_RETRY_MS, LeasedBuckets, STORE_UNAVAILABLE_RETRY_MS } from '../../../../components/policy/rules/rate-limit-redis.js';
import { setFleetLeaseStore, type LeaseGrant, type LeaseRequest, type LeaseStore } from '../../../../components/rate-limit-store/index.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

interface AskedLease {
  readonly key: string;
  readonly request: LeaseRequest;
  grant(granted: number, retryAfterMs?: number): Promise<void>;
  fail(): Promise<void>;
}

/** A store whose leases stay pending until the test answers them, in order. */
class ScriptedStore implements LeaseStore {
  available = true;
  readonly asked: AskedLease[] = [];

  lease(key: string, request: LeaseRequest): Promise<LeaseGrant> {
    return new Promise((resolve, reject) => {
      // Settling is awaited past the rule's then(): its bookkeeping has run when grant() returns.
      const settled = async (): Promise<void> => {
        await Promise.resolve();
        await Promise.resolve();
      };
      this.asked.push({
        key,
        request,
        grant: async (granted, retryAfterMs = 0) => {
          resolve({ granted, retryAfterMs });
          await settled();
        },
        fail: async () => {
          reject(new Error('connection lost'));
          await settled();
        },
      });
    });
  }

  /** The one lease asked for since the last call. */
  next(): AskedLease {
    assert.equal(this.asked.length, 1, `expected one lease asked for, got ${this.asked.length}`);
    return this.asked.shift()!;
  }
}

const fleetRule = (store: ScriptedStore, rateLimit: Partial<RateLimitRule['rateLimit']> = {}): Rule => {
  setFleetLeaseStore(store);
  const rules = createRateLimitRules({ id: 'fleet', rateLimit: { tools: ['*'], per: 'tool', capacity: 10, refillPerSecond: 1, store: 'redis', lease: 3, ...rateLimit } }, { mode: 'enforce' });
  return rules[0]!;
};
const call = (rule: Rule, name: string, now: number): Verdict => rule.evaluate(frameContext(toolCall(name, {}), { now }));

function assertDenied(verdict: Verdict, reason: string, retryAfterMs: number): void {
  assert.ok(verdict.effect === 'deny', JSON.stringify(verdict));
  assert.equal(verdict.reason, reason);
  assert.equal(verdict.category, 'transient_error');
  assert.equal(verdict.retryAfterMs, retryAfterMs);
}

describe('rate-limit rule with store: redis (leased tokens)', () => {
  afterEach(() => setFleetLeaseStore(undefined));

  it('grants a first call on credit and leases that token and a lease more, charged even if the bucket is empty', async () => {
    const store = new ScriptedStore();
    const rule = fleetRule(store);
    assert.equal(call(rule, 'search', 0).effect, 'continue');
    const lease = store.next();
    assert.deepEqual(lease.request, { capacity: 10, refillPerSecond: 1, debt: 1, want: 3 });
    assert.equal(lease.key, 'mcp-sidecar:rate-limit:5:fleet:tool:search');
    // No second credit while the lease is on its way: the call waits for it.
    assertDenied(call(rule, 'search', 1), 'rate_limited', LEASE_PENDING_RETRY_MS);
    assert.equal(store.asked.length, 0, 'one lease in flight per key');
    await lease.grant(3);
    assert.equal(call(rule, 'search', 2).effect, 'continue');
    // Holding fewer than the lease, it tops up in the background, asking for what it lacks.
    assert.deepEqual(store.next().request, { capacity: 10, refillPerSecond: 1, debt: 0, want: 1 });
    assert.equal(call(rule, 'search', 3).effect, 'continue', 'tokens held are spent while the top-up is on its way');
    assert.equal(call(rule, 'search', 3).effect, 'continue');
    assertDenied(call(rule, 'search', 3), 'rate_limited', LEASE_PENDING_RETRY_MS);
  });

  it('when Redis says the bucket is empty, refuses until then with the time it gave, then asks again', async () => {
    const store = new ScriptedStore();
    const rule = fleetRule(store);
    assert.equal(call(rule, 'search', 1000).effect, 'continue');
    await store.next().grant(0, 700);
    assertDenied(call(rule, 'search', 1000), 'rate_limited', 700);
    assertDenied(call(rule, 'search', 1650), 'rate_limited', 50);
    assert.equal(store.asked.length, 0, 'no lease is asked for while the bucket is known empty');
    // Past it, one more credit (repaid in Redis), and a lease.
    assert.equal(call(rule, 'search', 1700).effect, 'continue');
    assert.equal(store.next().request.debt, 1);
  });

  it('keeps one bucket per key, each with its own lease', async () => {
    const store = new ScriptedStore();
    const rule = fleetRule(store);
    assert.equal(call(rule, 'a', 0).effect, 'continue');
    assert.equal(call(rule, 'b', 0).effect, 'continue');
    assert.deepEqual(store.asked.map((asked) => asked.key), ['mcp-sidecar:rate-limit:5:fleet:tool:a', 'mcp-sidecar:rate-limit:5:fleet:tool:b']);
  });

  it('onStoreError deny (the default): the tokens held are spent, then requests are refused', async () => {
    const store = new ScriptedStore();
    const rule = fleetRule(store, { onStoreError: undefined });
    assert.equal(call(rule, 'search', 0).effect, 'continue');
    await store.next().grant(3);
    store.available = false;
    for (let i = 0; i < 3; i++) assert.equal(call(rule, 'search', 1).effect, 'continue', 'Redis granted these');
    assertDenied(call(rule, 'search', 1), 'rate_limit_store_unavailable', STORE_UNAVAILABLE_RETRY_MS);
    assert.equal(store.asked.length, 0, 'an unavailable store is not asked');
    store.available = true;
    assert.equal(call(rule, 'search', 2).effect, 'continue', 'back: a credit and a lease');
    assert.equal(store.asked.length, 1);
  });

  it('a failed lease leaves the key asking again once the store is available', async () => {
    const store = new ScriptedStore();
    const rule = fleetRule(store);
    assert.equal(call(rule, 'search', 0).effect, 'continue');
    await store.next().fail();
    assert.equal(call(rule, 'search', 1).effect, 'continue', 'the store still says available: a new credit');
    assert.equal(store.asked.length, 1);
  });

  it('onStoreError allow: this proxy\'s own bucket of the same shape decides, never no limit', () => {
    const store = new ScriptedStore();
    store.available = false;
    const rule = fleetRule(store, { onStoreError: 'allow', capacity: 2, refillPerSecond: 5 });
    assert.equal(call(rule, 'search', 0).effect, 'continue');
    assert.equal(call(rule, 'search', 0).effect, 'continue');
    assertDenied(call(rule, 'search', 0), 'rate_limited', 200);
    assert.equal(store.asked.length, 0);
  });

  it('in observe, the denial is only recorded by the engine: the rule still says deny', async () => {
    const store = new ScriptedStore();
    store.available = false;
    setFleetLeaseStore(store);
    const [rule] = createRateLimitRules({ id: 'fleet', rateLimit: { tools: ['*'], per: 'rule', capacity: 1, refillPerSecond: 1, store: 'redis' } }, { mode: 'observe' });
    assert.equal(rule!.mode, 'observe');
    assertDenied(call(rule!, 'x', 0), 'rate_limit_store_unavailable', STORE_UNAVAILABLE_RETRY_MS);
  });

  it('does not compile without a store (no --redis-url): fail closed, never a per-proxy limit in disguise', () => {
    setFleetLeaseStore(undefined);
    assert.throws(
      () => createRateLimitRules({ id: 'fleet', rateLimit: { tools: ['*'], per: 'tool', capacity: 1, refillPerSecond: 1, store: 'redis' } }, { mode: 'enforce' }),
      /rule "fleet": store: redis needs a Redis: give --redis-url/,
    );
  });

  it('hashes a long key, and bounds the keys it keeps (least recently used forgotten)', async () => {
    const store = new ScriptedStore();
    const buckets = new LeasedBuckets({ store, ruleId: 'r', capacity: 10, refillPerSecond: 1, maxKeys: 2 });
    assert.match(buckets.redisKey('x'.repeat(300)), /^mcp-sidecar:rate-limit:1:r:sha256:[0-9a-f]{64}$/);
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 0);
    assert.equal(buckets.size, 2);
  });

  it('defaults the lease to a tenth of the burst, at least 1, at most the burst', () => {
    assert.deepEqual([defaultLease(1), defaultLease(9), defaultLease(20), defaultLease(1000)], [1, 1, 2, 100]);
    assert.equal(new LeasedBuckets({ store: new ScriptedStore(), ruleId: 'r', capacity: 5, refillPerSecond: 1, lease: 50 }).lease, 5);
  });

  it('the schema takes store, onStoreError and lease, and refuses what is not one of them', () => {
    const { document } = parsePolicyText(policyWithRule({ id: 'fleet', rateLimit: { tools: ['*'], capacity: 5, refillPerSecond: 1, store: 'redis', onStoreError: 'allow', lease: 2 } }), 'fleet.yaml');
    const spec = (document.rules[0] as RateLimitRule).rateLimit;
    assert.deepEqual([spec.store, spec.onStoreError, spec.lease], ['redis', 'allow', 2]);
    const plain = parsePolicyText(policyWithRule({ id: 'local', rateLimit: { tools: ['*'], capacity: 5, refillPerSecond: 1 } }), 'local.yaml').document;
    assert.ok(!('store' in (plain.rules[0] as RateLimitRule).rateLimit), 'no default written: digests of existing policies do not change');
    assertRejected(policyWithRule({ id: 'bad', rateLimit: { tools: ['*'], capacity: 5, refillPerSecond: 1, store: 'disk' } }), 'rules[0].rateLimit.store', /memory|redis/);
    assertRejected(policyWithRule({ id: 'bad', rateLimit: { tools: ['*'], capacity: 5, refillPerSecond: 1, onStoreError: 'maybe' } }), 'rules[0].rateLimit.onStoreError', /allow|deny/);
    assertRejected(policyWithRule({ id: 'bad', rateLimit: { tools: ['*'], capacity: 5, refillPerSecond: 1, lease: 0 } }), 'rules[0].rateLimit.lease', />=\s*1|at least 1|1/);
  });
});
