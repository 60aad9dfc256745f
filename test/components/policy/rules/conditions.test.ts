import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuleSpec } from '../../../../components/policy/document/document.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { evaluateFrame, type Identity } from '../../../../components/policy/index.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { applyConditions, compileCondition, createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { frameContext, resultOf, toolCall } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

const buildPolicy = (loaded: Parameters<typeof compileLoadedPolicy>[0]) => compileLoadedPolicy(loaded, createRulesFromSpec);

const withIdentity = (message: unknown, identity: Identity | undefined, options: Parameters<typeof frameContext>[1] = {}) =>
  Object.assign(frameContext(message, options), { identity });

const ACME_ALICE: Identity = { tenantId: 'acme', userId: 'alice@acme.example', agentId: 'build-bot' };
const GLOBEX_BOB: Identity = { tenantId: 'globex', userId: 'bob@globex.example' };

describe('when / unless (identity conditions)', () => {
  const denyWrites = (extra: Partial<RuleSpec>): RuleSpec => ({ id: 'no-writes', tools: { deny: ['write_*'], reply: 'error' }, ...extra } as RuleSpec);
  const verdictFor = (spec: RuleSpec, identity: Identity | undefined) =>
    createRulesFromSpec(spec, { mode: 'enforce' })[0]!.evaluate(withIdentity(toolCall('write_file', {}), identity)).effect;

  it('returns the very same rules when a spec has neither key: nothing added per frame', () => {
    const rules = createRulesFromSpec(denyWrites({}), { mode: 'enforce' });
    const again = applyConditions(denyWrites({}), rules);
    assert.equal(again, rules);
  });

  it('applies a rule with when only to callers whose identity matches', () => {
    const spec = denyWrites({ when: { identity: { tenantId: ['acme', 'initech-*'] } } });
    assert.equal(verdictFor(spec, ACME_ALICE), 'deny');
    assert.equal(verdictFor(spec, { tenantId: 'initech-eu' }), 'deny');
    assert.equal(verdictFor(spec, GLOBEX_BOB), 'continue');
  });

  it('never applies a rule with when to a frame without an identity, or without the field', () => {
    const spec = denyWrites({ when: { identity: { agentId: ['*'] } } });
    assert.equal(verdictFor(spec, undefined), 'continue', 'no identity (stdio)');
    assert.equal(verdictFor(spec, GLOBEX_BOB), 'continue', 'no agentId: even "*" needs the field');
    assert.equal(verdictFor(spec, ACME_ALICE), 'deny');
  });

  it('needs every field given to match (and), any glob of a field (or)', () => {
    const spec = denyWrites({ when: { identity: { tenantId: ['acme'], userId: ['alice@*', 'carol@*'] } } });
    assert.equal(verdictFor(spec, ACME_ALICE), 'deny');
    assert.equal(verdictFor(spec, { tenantId: 'acme', userId: 'carol@acme.example' }), 'deny');
    assert.equal(verdictFor(spec, { tenantId: 'acme', userId: 'bob@acme.example' }), 'continue');
    assert.equal(verdictFor(spec, { userId: 'alice@acme.example' }), 'continue');
  });

  it('exempts the callers unless matches, and applies to frames without an identity', () => {
    const spec = denyWrites({ unless: { identity: { userId: ['admin@*'] } } });
    assert.equal(verdictFor(spec, { tenantId: 'acme', userId: 'admin@acme.example' }), 'continue');
    assert.equal(verdictFor(spec, ACME_ALICE), 'deny');
    assert.equal(verdictFor(spec, undefined), 'deny', 'an exemption needs an identity');
  });

  it('combines when and unless: applies when the first matches and the second does not', () => {
    const spec = denyWrites({ when: { identity: { tenantId: ['acme'] } }, unless: { identity: { agentId: ['build-bot'] } } });
    assert.equal(verdictFor(spec, ACME_ALICE), 'continue', 'acme, but the build bot');
    assert.equal(verdictFor(spec, { tenantId: 'acme', agentId: 'chat' }), 'deny');
    assert.equal(verdictFor(spec, { tenantId: 'globex', agentId: 'chat' }), 'continue');
  });

  it('fails closed on a field it cannot read (present, not a string): the rule applies, whether when or unless', () => {
    const malformed = { tenantId: 42 } as unknown as Identity;
    assert.equal(verdictFor(denyWrites({ when: { identity: { tenantId: ['acme'] } } }), malformed), 'deny', 'when: applies');
    assert.equal(verdictFor(denyWrites({ unless: { identity: { tenantId: ['*'] } } }), malformed), 'deny', 'unless: no exemption');
    assert.equal(verdictFor(denyWrites({ unless: { identity: { tenantId: ['*'], userId: ['admin@*'] } } }), { tenantId: ['acme'], userId: 'admin@acme.example' } as unknown as Identity), 'deny');
    // A field that does not match decides it, whatever the others hold.
    const both = denyWrites({ when: { identity: { tenantId: ['acme'], userId: ['*'] } } });
    assert.equal(verdictFor(both, { tenantId: 'globex', userId: 7 } as unknown as Identity), 'continue');
    assert.equal(verdictFor(both, { userId: 7 } as unknown as Identity), 'continue', 'a missing field is a fact: no tenant');
  });

  it('matches globs case-sensitively over the whole value', () => {
    const match = compileCondition('when', { identity: { tenantId: ['acme'] } });
    assert.equal(match({ tenantId: 'acme' }), true);
    assert.equal(match({ tenantId: 'ACME' }), false);
    assert.equal(match({ tenantId: 'acme-eu' }), false);
    assert.equal(match({}), false);
  });

  it('does not run the rule (no body parsed, no token taken) for a caller it does not apply to', () => {
    const [rule] = createRulesFromSpec({ id: 'rate', when: { identity: { tenantId: ['acme'] } }, rateLimit: { tools: ['*'], per: 'rule', capacity: 1, refillPerSecond: 1 } }, { mode: 'enforce' });
    const other = withIdentity(toolCall('echo', {}), GLOBEX_BOB);
    for (let i = 0; i < 3; i++) assert.equal(rule!.evaluate(other).effect, 'continue');
    assert.equal(other.bodyReads, 0);
    assert.equal(rule!.evaluate(withIdentity(toolCall('echo', {}), ACME_ALICE)).effect, 'continue');
    assert.equal(rule!.evaluate(withIdentity(toolCall('echo', {}), ACME_ALICE)).effect, 'deny');
  });

  it('conditions every rule a kind compiles to (hide: the list rewrite and the call denial)', () => {
    const rules = createRulesFromSpec({ id: 'hide-admin', when: { identity: { tenantId: ['acme'] } }, hide: { tools: ['admin_*'] } }, { mode: 'enforce' });
    assert.equal(rules.length, 2);
    const list = resultOf({ tools: [{ name: 'admin_reset' }, { name: 'echo' }] });
    const listRule = rules.find((rule) => rule.phase === 'response')!;
    assert.equal(listRule.evaluate(withIdentity(list, ACME_ALICE, { method: 'tools/list' })).effect, 'rewrite');
    assert.equal(listRule.evaluate(withIdentity(list, GLOBEX_BOB, { method: 'tools/list' })).effect, 'continue');
    const callRule = rules.find((rule) => rule.phase === 'request')!;
    assert.equal(callRule.evaluate(withIdentity(toolCall('admin_reset'), ACME_ALICE)).effect, 'deny');
    assert.equal(callRule.evaluate(withIdentity(toolCall('admin_reset'), GLOBEX_BOB)).effect, 'continue');
  });

  // Refused by the schema, at load, with the field's path (compileCondition compiles validated conditions).
  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['a condition that is not a mapping', 'acme', 'rules[0].when', /^expected a mapping, found "acme"$/],
    ['a condition without identity', {}, 'rules[0].when', /^expected at least one of: identity, server, cel, found none$/],
    ['an unknown condition key', { identity: { tenantId: ['a'] }, method: ['x'] }, 'rules[0].when.method', /^unknown key "method"/],
    ['an unknown identity field', { identity: { tenant: ['a'] } }, 'rules[0].when.identity.tenant', /^unknown key "tenant"/],
    ['no field', { identity: {} }, 'rules[0].when.identity', /^expected at least one of: tenantId, userId, agentId, found none$/],
    ['an empty glob list', { identity: { userId: [] } }, 'rules[0].when.identity.userId', /^expected a non-empty list, found an empty list$/],
    ['an empty glob', { identity: { userId: [''] } }, 'rules[0].when.identity.userId[0]', /^expected a non-empty string, found ""$/],
  ];
  for (const [label, when, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ ...denyWrites({}), when }), path, message));
  }
});

describe('identity through a compiled policy', () => {
  const policy = buildPolicy(parsePolicyText(`apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: tenants, revision: 1 }
rules:
  - id: contractors-read-only
    when: { identity: { tenantId: ["contractor-*"] } }
    tools: { allow: ["read_*"] }
  - id: tenant-rate
    unless: { identity: { userId: ["admin@*"] } }
    rateLimit: { tools: ["*"], per: [tenantId, tool], capacity: 1, refillPerSecond: 1 }
`, 'tenants.yaml'));
  const call = (name: string, identity: Identity | undefined, now = 0) =>
    evaluateFrame(policy, 'client-to-server', 'request', 'tools/call', Buffer.from(`${JSON.stringify(toolCall(name, {}))}\n`), now, identity).action;

  it('denies by rule and by bucket according to who calls', () => {
    assert.equal(call('write_file', { tenantId: 'contractor-7' }).kind, 'deny');
    assert.equal(call('write_file', { tenantId: 'acme' }).kind, 'forward');
    assert.equal(call('write_file', { tenantId: 'globex' }).kind, 'forward', 'another tenant, its own bucket');
    const limited = call('write_file', { tenantId: 'acme' });
    assert.ok(limited.kind === 'deny' && limited.ruleId === 'tenant-rate', JSON.stringify(limited));
    assert.match(limited.verdict.message, /rate limit for tool "write_file" of tenantId "acme" exceeded/);
    assert.equal(call('read_file', { tenantId: 'acme' }).kind, 'forward', 'another tool, its own bucket');
    for (let i = 0; i < 3; i++) assert.equal(call('write_file', { tenantId: 'acme', userId: 'admin@acme.example' }).kind, 'forward', 'exempt');
  });

  it('puts frames without an identity in one shared bucket', () => {
    assert.equal(call('list_files', undefined).kind, 'forward');
    const limited = call('list_files', {});
    assert.ok(limited.kind === 'deny', 'an identity without tenantId shares the bucket of no identity');
    assert.match(limited.verdict.message, /of callers without a tenantId/);
  });
});
