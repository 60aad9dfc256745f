import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RateLimitRule } from '../../../../components/policy/document/document.js';
import type { Identity, Rule, Verdict } from '../../../../components/policy/engine/types.js';
import { createRateLimitRules, MAX_RATE_LIMIT_BUCKETS, TokenBuckets } from '../../../../components/policy/rules/rate-limit.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { assertRejected, policyWithRule } from '../rejections.js';

function ruleOf(rateLimit: RateLimitRule['rateLimit']): Rule {
  const rules = createRateLimitRules({ id: 'rate', rateLimit }, { mode: 'enforce' });
  assert.equal(rules.length, 1);
  return rules[0]!;
}

const call = (rule: Rule, name: string, now: number): Verdict => rule.evaluate(frameContext(toolCall(name, {}), { now }));
const request = (rule: Rule, method: string, now: number): Verdict => rule.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method }, { now }));

function assertLimited(verdict: Verdict, retryAfterMs: number): void {
  assert.ok(verdict.effect === 'deny', JSON.stringify(verdict));
  assert.equal(verdict.reason, 'rate_limited');
  assert.equal(verdict.category, 'transient_error');
  assert.equal(verdict.retryAfterMs, retryAfterMs);
}

describe('rate-limit rule', () => {
  it('compiles to one request rule on tools/call and the method globs', () => {
    const rule = ruleOf({ tools: ['*'], methods: ['resources/*'], per: 'rule', capacity: 1, refillPerSecond: 1 });
    assert.deepEqual([rule.kind, rule.direction, rule.phase, rule.methods], ['rateLimit', 'client-to-server', 'request', ['tools/call', 'resources/*']]);
  });

  it('spends the burst, then refills exactly at refillPerSecond, with retryAfterMs until the next token', () => {
    const rule = ruleOf({ tools: ['*'], per: 'tool', capacity: 2, refillPerSecond: 5 }); // one token per 200 ms
    assert.equal(call(rule, 'echo', 1000).effect, 'continue');
    assert.equal(call(rule, 'echo', 1000).effect, 'continue');
    assertLimited(call(rule, 'echo', 1000), 200);
    assertLimited(call(rule, 'echo', 1050), 150);
    assertLimited(call(rule, 'echo', 1199), 1);
    assert.equal(call(rule, 'echo', 1200).effect, 'continue', 'exactly one token after 200 ms');
    assertLimited(call(rule, 'echo', 1200), 200);
    // A long pause refills to capacity, not beyond.
    assert.equal(call(rule, 'echo', 60_000).effect, 'continue');
    assert.equal(call(rule, 'echo', 60_000).effect, 'continue');
    assertLimited(call(rule, 'echo', 60_000), 200);
  });

  it('a denied request takes no token, and retrying after retryAfterMs succeeds', () => {
    const rule = ruleOf({ tools: ['*'], per: 'rule', capacity: 1, refillPerSecond: 3 });
    assert.equal(call(rule, 'a', 0).effect, 'continue');
    const denied = call(rule, 'a', 0);
    assertLimited(denied, 334);
    for (let t = 1; t < 334; t += 37) assert.equal(call(rule, 'a', t).effect, 'deny');
    assert.equal(call(rule, 'a', 334).effect, 'continue');
  });

  it('defaults per to tool, as the schema does', () => {
    const { document } = parsePolicyText(policyWithRule({ id: 'rate', rateLimit: { tools: ['*'], capacity: 1, refillPerSecond: 1 } }), 'rate.yaml');
    const rule = ruleOf((document.rules[0] as RateLimitRule).rateLimit);
    assert.equal(call(rule, 'a', 0).effect, 'continue');
    assert.equal(call(rule, 'b', 0).effect, 'continue');
    assert.equal(call(rule, 'a', 0).effect, 'deny');
  });

  it('keeps one bucket per tool with per: tool', () => {
    const rule = ruleOf({ tools: ['*'], per: 'tool', capacity: 1, refillPerSecond: 1 });
    assert.equal(call(rule, 'echo', 0).effect, 'continue');
    assert.equal(call(rule, 'get-sum', 0).effect, 'continue');
    assertLimited(call(rule, 'echo', 0), 1000);
    assertLimited(call(rule, 'get-sum', 500), 500);
    assert.ok(call(rule, 'echo', 0).effect === 'deny' && /tool "echo"/.test((call(rule, 'echo', 0) as { message: string }).message));
  });

  it('keeps one bucket for everything with per: rule', () => {
    const rule = ruleOf({ tools: ['*'], methods: ['resources/read'], per: 'rule', capacity: 2, refillPerSecond: 1 });
    assert.equal(call(rule, 'echo', 0).effect, 'continue');
    assert.equal(request(rule, 'resources/read', 0).effect, 'continue');
    assertLimited(call(rule, 'other', 0), 1000);
  });

  it('keeps one bucket per method with per: method', () => {
    const rule = ruleOf({ methods: ['resources/*', 'prompts/get'], per: 'method', capacity: 1, refillPerSecond: 10 });
    assert.equal(request(rule, 'resources/read', 0).effect, 'continue');
    assert.equal(request(rule, 'resources/list', 0).effect, 'continue');
    assert.equal(request(rule, 'prompts/get', 0).effect, 'continue');
    assertLimited(request(rule, 'resources/read', 0), 100);
    assert.equal(request(rule, 'tools/list', 0).effect, 'continue', 'not covered');
  });

  it('limits only the tools its globs match, and never notifications', () => {
    const rule = ruleOf({ tools: ['write_*'], per: 'rule', capacity: 1, refillPerSecond: 1 });
    assert.equal(call(rule, 'write_file', 0).effect, 'continue');
    assertLimited(call(rule, 'write_dir', 0), 1000);
    for (let i = 0; i < 5; i++) assert.equal(call(rule, 'read_file', 0).effect, 'continue');
    const all = ruleOf({ methods: ['*'], per: 'rule', capacity: 1, refillPerSecond: 1 });
    assert.equal(request(all, 'ping', 0).effect, 'continue');
    assert.equal(all.evaluate(frameContext({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } })).effect, 'continue');
    assertLimited(request(all, 'ping', 0), 1000);
  });

  it('denies a tools/call without a name when only its tool globs could cover it, taking no token', () => {
    const rule = ruleOf({ tools: ['write_*'], per: 'rule', capacity: 1, refillPerSecond: 1 });
    for (const params of [undefined, {}, { name: 7 }]) {
      const verdict = rule.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }));
      assert.ok(verdict.effect === 'deny', JSON.stringify(params));
      assert.deepEqual([verdict.reason, verdict.category, verdict.message], ['invalid_params', 'user_error', 'tools/call needs params.name, a string']);
    }
    assert.equal(call(rule, 'write_file', 0).effect, 'continue', 'the bucket is still full');
    // Covered by the method globs, the call is limited in the method's bucket: nothing undecided.
    const both = ruleOf({ tools: ['write_*'], methods: ['tools/call'], per: 'tool', capacity: 1, refillPerSecond: 1 });
    const nameless = () => both.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }));
    assert.equal(nameless().effect, 'continue');
    assertLimited(nameless(), 1000);
    const byMethod = ruleOf({ methods: ['tools/*'], per: 'tool', capacity: 1, refillPerSecond: 1 });
    assert.equal(byMethod.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} })).effect, 'continue');
  });

  it('does not parse the body for a method-only limit', () => {
    const rule = ruleOf({ methods: ['tools/list'], per: 'method', capacity: 5, refillPerSecond: 1 });
    const frame = frameContext({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    rule.evaluate(frame);
    assert.equal(frame.bodyReads, 0);
  });

  it('does not refill when the clock goes backwards', () => {
    const rule = ruleOf({ tools: ['*'], per: 'rule', capacity: 1, refillPerSecond: 1 });
    assert.equal(call(rule, 'a', 10_000).effect, 'continue');
    assertLimited(call(rule, 'a', 5_000), 1000);
    assertLimited(call(rule, 'a', 10_500), 500);
  });

  it(`holds at most ${MAX_RATE_LIMIT_BUCKETS} buckets, forgetting the least recently used`, () => {
    const buckets = new TokenBuckets(1, 1);
    assert.equal(buckets.take('victim', 0), 0);
    assert.ok(buckets.take('victim', 0) > 0);
    for (let i = 0; i < MAX_RATE_LIMIT_BUCKETS - 1; i++) buckets.take(`tool-${i}`, 0);
    assert.equal(buckets.size, MAX_RATE_LIMIT_BUCKETS);
    assert.ok(buckets.take('victim', 0) > 0, 'using a bucket makes it recent');
    buckets.take('one-more', 0);
    assert.equal(buckets.size, MAX_RATE_LIMIT_BUCKETS);
    assert.equal(buckets.take('tool-0', 0), 0, 'tool-0, the least recently used, was forgotten and starts full');
    assert.ok(buckets.take('victim', 0) > 0, 'the recently used bucket is still there');

    const rule = ruleOf({ tools: ['*'], per: 'tool', capacity: 1, refillPerSecond: 1 });
    for (let i = 0; i < MAX_RATE_LIMIT_BUCKETS * 2; i++) assert.equal(call(rule, `t${i}`, 0).effect, 'continue');
  });

  // Refused by the schema, at load, with the field's path (the factory compiles validated specs).
  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['no tools or methods', { per: 'rule', capacity: 1, refillPerSecond: 1 }, 'rules[0].rateLimit', /^expected exactly one of: tools, methods, found none$/],
    ['a bad per', { tools: ['*'], per: 'user', capacity: 1, refillPerSecond: 1 }, 'rules[0].rateLimit.per', /^expected one of: rule, tool, method, tenantId, userId, agentId, or a list of .*, found "user"$/],
    ['a zero capacity', { tools: ['*'], per: 'rule', capacity: 0, refillPerSecond: 1 }, 'rules[0].rateLimit.capacity', /^expected a whole number ≥ 1, found the number 0$/],
    ['a fractional capacity', { tools: ['*'], per: 'rule', capacity: 1.5, refillPerSecond: 1 }, 'rules[0].rateLimit.capacity', /^expected a whole number, found the number 1.5$/],
    ['a zero refill', { tools: ['*'], per: 'rule', capacity: 1, refillPerSecond: 0 }, 'rules[0].rateLimit.refillPerSecond', /^expected a number > 0, found the number 0$/],
  ];
  for (const [label, rateLimit, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ id: 'bad', rateLimit }), path, message));
  }
});

describe('rate-limit rule keyed on identity', () => {
  const callAs = (rule: Rule, name: string, identity: Identity | undefined, now = 0): Verdict =>
    rule.evaluate(Object.assign(frameContext(toolCall(name, {}), { now }), { identity }));

  it('keeps one bucket per tenant with per: tenantId, for everything the rule covers', () => {
    const rule = ruleOf({ tools: ['*'], per: 'tenantId', capacity: 1, refillPerSecond: 1 });
    assert.equal(callAs(rule, 'a', { tenantId: 'acme' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { tenantId: 'globex' }).effect, 'continue');
    const denied = callAs(rule, 'b', { tenantId: 'acme', userId: 'someone-else' });
    assertLimited(denied, 1000);
    assert.ok(denied.effect === 'deny' && /rate limit for requests of tenantId "acme" exceeded/.test(denied.message), JSON.stringify(denied));
  });

  it('keeps one bucket per user and tool with per: [userId, tool]', () => {
    const rule = ruleOf({ tools: ['*'], per: ['userId', 'tool'], capacity: 1, refillPerSecond: 1 });
    assert.equal(callAs(rule, 'a', { userId: 'u1' }).effect, 'continue');
    assert.equal(callAs(rule, 'b', { userId: 'u1' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { userId: 'u2' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { userId: 'u1' }).effect, 'deny');
  });

  it('keys on every field listed: [tenantId, agentId]', () => {
    const rule = ruleOf({ methods: ['*'], per: ['tenantId', 'agentId'], capacity: 1, refillPerSecond: 1 });
    assert.equal(callAs(rule, 'a', { tenantId: 't', agentId: 'x' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { tenantId: 't', agentId: 'y' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { tenantId: 't' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { tenantId: 't', agentId: 'x' }).effect, 'deny');
  });

  it('shares one bucket among frames without the field, identity or not', () => {
    const rule = ruleOf({ tools: ['*'], per: 'tenantId', capacity: 2, refillPerSecond: 1 });
    assert.equal(callAs(rule, 'a', undefined).effect, 'continue');
    assert.equal(callAs(rule, 'a', { userId: 'u' }).effect, 'continue');
    const denied = callAs(rule, 'a', undefined);
    assert.ok(denied.effect === 'deny' && /of callers without a tenantId/.test(denied.message));
    assert.equal(callAs(rule, 'a', { tenantId: '-' }).effect, 'continue', 'a tenant named "-" is not the shared bucket');
  });

  it('never confuses two identities whatever their characters', () => {
    const rule = ruleOf({ tools: ['*'], per: ['tenantId', 'userId'], capacity: 1, refillPerSecond: 1 });
    assert.equal(callAs(rule, 'a', { tenantId: 'a|1:b', userId: 'c' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { tenantId: 'a', userId: 'b|1:c' }).effect, 'continue');
    assert.equal(callAs(rule, 'a', { tenantId: 'a|', userId: '1:b' }).effect, 'continue');
  });

  it('bounds the buckets when every caller has a new identity', () => {
    const rule = ruleOf({ tools: ['*'], per: ['userId', 'tool'], capacity: 1, refillPerSecond: 1 });
    for (let i = 0; i < MAX_RATE_LIMIT_BUCKETS + 10; i++) assert.equal(callAs(rule, 'a', { userId: `u${i}` }).effect, 'continue');
  });

  const perExpected = /^expected one of: rule, tool, method, tenantId, userId, agentId, or a list of tool, method, tenantId, userId, agentId, found /;
  const invalid: Array<[string, unknown, RegExp]> = [
    ['an empty list', [], perExpected],
    ['rule in a list', ['rule'], perExpected],
    ['tool and method', ['tool', 'method'], /^expected tool or method, not both/],
    ['a field twice', ['tenantId', 'tenantId'], /^expected each of .* at most once, found tenantId more than once$/],
    ['an unknown field', ['tenant'], perExpected],
  ];
  for (const [label, per, message] of invalid) {
    it(`refuses, at load, per with ${label}`, () => {
      assertRejected(policyWithRule({ id: 'bad', rateLimit: { tools: ['*'], per, capacity: 1, refillPerSecond: 1 } }), 'rules[0].rateLimit.per', message);
    });
  }
});
