// The policy language's identity parts: `when` / `unless` on every rule, and rateLimit `per` an
// identity field or a list. Validation messages, normalization, and the published JSON Schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyText, PolicyInvalidError, toJsonSchema } from '../../../components/policy/document/index.js';

const policy = (...rules: string[]): string => ['apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { name: p, revision: 1 }', 'rules:', ...rules, ''].join('\n');

function errorsOf(text: string): string[] {
  try {
    parsePolicyText(text, 'p.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyInvalidError, String(error));
    return error.message.split('\n').slice(1);
  }
  assert.fail('the policy loaded');
}

describe('policy: when / unless', () => {
  it('keeps the conditions as written on the rule spec', () => {
    const { document } = parsePolicyText(policy(
      '  - id: contractors',
      '    when: { identity: { tenantId: ["contractor-*"], agentId: [ci] } }',
      '    unless: { identity: { userId: ["admin@*"] } }',
      '    tools: { allow: ["read_*"] }',
    ), 'p.yaml');
    assert.deepEqual(document.rules[0], {
      id: 'contractors',
      when: { identity: { tenantId: ['contractor-*'], agentId: ['ci'] } },
      unless: { identity: { userId: ['admin@*'] } },
      tools: { allow: ['read_*'], reply: 'error' },
    });
  });

  it('says what is wrong with a condition, at its line and column', () => {
    assert.deepEqual(errorsOf(policy(
      '  - id: a',
      '    when: { identity: { tenant: [acme] } }',
      '    tools: { allow: [x] }',
      '  - id: b',
      '    when: { tenantId: [acme] }',
      '    tools: { allow: [x] }',
      '  - id: c',
      '    unless: { identity: { userId: [] } }',
      '    tools: { allow: [x] }',
    )), [
      'p.yaml:6:23: rules[0].when.identity: expected at least one of: tenantId, userId, agentId, found none',
      'p.yaml:6:25: rules[0].when.identity.tenant: unknown key "tenant" (expected one of: tenantId, userId, agentId)',
      'p.yaml:9:11: rules[1].when: expected at least one of: identity, server, cel, found none',
      'p.yaml:9:13: rules[1].when.tenantId: unknown key "tenantId" (expected one of: identity, server, cel)',
      'p.yaml:12:35: rules[2].unless.identity.userId: expected a non-empty list, found an empty list',
    ]);
  });
});

describe('policy: rateLimit per identity', () => {
  const rateLimit = (per: string) => policy('  - id: r', `    rateLimit: { tools: ["*"], per: ${per}, capacity: 1, refillPerSecond: 1 }`);
  const perOf = (per: string) => (parsePolicyText(rateLimit(per), 'p.yaml').document.rules[0] as { rateLimit: { per: unknown } }).rateLimit.per;

  it('takes a word or a list, and keeps a word a word (the digest of existing policies does not change)', () => {
    assert.equal(perOf('tool'), 'tool');
    assert.equal(perOf('tenantId'), 'tenantId');
    assert.deepEqual(perOf('[tenantId, tool]'), ['tenantId', 'tool']);
    assert.deepEqual(perOf('[userId, agentId, method]'), ['userId', 'agentId', 'method']);
  });

  it('refuses an unknown word, rule in a list, a word twice, and tool with method', () => {
    const expected = 'expected one of: rule, tool, method, tenantId, userId, agentId, or a list of tool, method, tenantId, userId, agentId';
    assert.deepEqual(errorsOf(rateLimit('user')), [`p.yaml:6:37: rules[0].rateLimit.per: ${expected}, found "user"`]);
    assert.deepEqual(errorsOf(rateLimit('[]')), [`p.yaml:6:37: rules[0].rateLimit.per: ${expected}, found an empty list`]);
    assert.equal(errorsOf(rateLimit('[rule]')).length, 1);
    assert.deepEqual(errorsOf(rateLimit('[tenantId, tenantId]')), ['p.yaml:6:37: rules[0].rateLimit.per: expected each of tool, method, tenantId, userId, agentId at most once, found tenantId more than once']);
    assert.match(errorsOf(rateLimit('[tool, method]'))[0]!, /expected tool or method, not both/);
  });
});

describe('policy.schema.json: identity', () => {
  it('describes when, unless and per for editors', () => {
    const text = JSON.stringify(toJsonSchema());
    const rule = (toJsonSchema() as { properties: { rules: { items: { properties: Record<string, { properties?: Record<string, unknown> }> } } } }).properties.rules.items;
    assert.deepEqual(Object.keys(rule.properties['when']!.properties!), ['identity', 'server', 'cel']);
    assert.deepEqual(Object.keys(rule.properties['unless']!.properties!), ['identity', 'server']);
    assert.match(text, /"tenantId","userId","agentId"/);
  });
});
