import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ToolsRule } from '../../../../components/policy/document/document.js';
import type { Verdict } from '../../../../components/policy/engine/types.js';
import { createToolsRules } from '../../../../components/policy/rules/tools.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

function evaluate(spec: ToolsRule['tools'], message: unknown): Verdict {
  const [rule] = createToolsRules({ id: 'tools-rule', tools: spec }, { mode: 'enforce' });
  return rule!.evaluate(frameContext(message));
}

describe('tools rule', () => {
  it('compiles to one request rule on tools/call', () => {
    const rules = createToolsRules({ id: 'r', tools: { allow: ['read_*'], reply: 'tool-error' } }, { mode: 'observe' });
    assert.equal(rules.length, 1);
    assert.deepEqual([rules[0]!.kind, rules[0]!.mode, rules[0]!.direction, rules[0]!.phase, rules[0]!.methods], ['tools', 'observe', 'client-to-server', 'request', ['tools/call']]);
  });

  const table: Array<[string, ToolsRule['tools'], unknown, Verdict | { reason: string; category: string; reply?: string }]> = [
    ['an allowed name', { allow: ['read_*', 'list_*'], reply: 'tool-error' }, toolCall('read_file', { path: '/x' }), { effect: 'continue' }],
    ['a name outside allow, reply tool-error', { allow: ['read_*'], reply: 'tool-error' }, toolCall('write_file'), { reason: 'tool_not_allowed', category: 'forbidden', reply: 'tool-error' }],
    ['a name outside allow, reply error', { allow: ['read_*'], reply: 'error' }, toolCall('write_file'), { reason: 'tool_not_allowed', category: 'forbidden', reply: 'error' }],
    ['an allowed name that is denied', { allow: ['*'], deny: ['*_admin'], reply: 'error' }, toolCall('reset_admin'), { reason: 'tool_not_allowed', category: 'forbidden', reply: 'error' }],
    ['a name the deny list does not match', { deny: ['rm*'], reply: 'error' }, toolCall('echo'), { effect: 'continue' }],
    ['a glob with ?', { allow: ['get-?um'], reply: 'error' }, toolCall('get-sum'), { effect: 'continue' }],
    ['a missing name', { allow: ['*'], reply: 'tool-error' }, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }, { reason: 'invalid_params', category: 'user_error' }],
    ['a number as name', { allow: ['*'], reply: 'tool-error' }, toolCall(42), { reason: 'invalid_params', category: 'user_error' }],
    ['no params', { deny: ['x'], reply: 'error' }, { jsonrpc: '2.0', id: 1, method: 'tools/call' }, { reason: 'invalid_params', category: 'user_error' }],
    ['params as an array', { deny: ['x'], reply: 'error' }, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['x'] }, { reason: 'invalid_params', category: 'user_error' }],
  ];
  for (const [label, spec, message, expected] of table) {
    it(`${'effect' in expected ? 'passes' : 'denies'} ${label}`, () => {
      const verdict = evaluate(spec, message);
      if ('effect' in expected) {
        assert.deepEqual(verdict, expected);
        return;
      }
      assert.ok(verdict.effect === 'deny', JSON.stringify(verdict));
      assert.deepEqual({ reason: verdict.reason, category: verdict.category, reply: verdict.reply }, { reply: undefined, ...expected });
    });
  }

  it('names the tool in the message, cut short when it is long', () => {
    const verdict = evaluate({ allow: ['a'], reply: 'error' }, toolCall('x'.repeat(10_000)));
    assert.ok(verdict.effect === 'deny');
    assert.ok(verdict.message.length < 300, verdict.message);
    assert.match(verdict.message, /^tool "x+…" is not allowed$/);
  });

  // Refused by the schema, at load, with the field's path (the factory compiles validated specs).
  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['no allow or deny', { reply: 'error' }, 'rules[0].tools', /^expected at least one of: allow, deny, found none$/],
    ['a bad reply', { allow: ['*'], reply: 'json' }, 'rules[0].tools.reply', /^expected one of: "error", "tool-error", found "json"$/],
    ['a non-string glob', { allow: [1], reply: 'error' }, 'rules[0].tools.allow[0]', /^expected a string, found the number 1$/],
  ];
  for (const [label, tools, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ id: 'bad', tools }), path, message));
  }
});
