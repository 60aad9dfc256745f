import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PromptsRule } from '../../../../components/policy/document/document.js';
import { createPromptsRules } from '../../../../components/policy/rules/prompts.js';
import { frameContext } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

const getPrompt = (name: unknown): Record<string, unknown> => ({ jsonrpc: '2.0', id: 7, method: 'prompts/get', params: { name, arguments: {} } });

describe('prompts rule', () => {
  const [rule] = createPromptsRules({ id: 'p', prompts: { allow: ['simple-*', 'args-prompt'], deny: ['simple-secret'] } }, { mode: 'enforce' });

  it('is one request rule on prompts/get', () => {
    assert.deepEqual([rule!.kind, rule!.direction, rule!.phase, rule!.methods], ['prompts', 'client-to-server', 'request', ['prompts/get']]);
  });

  const table: Array<[unknown, string | undefined, string | undefined]> = [
    ['simple-prompt', undefined, undefined],
    ['args-prompt', undefined, undefined],
    ['resource-prompt', 'prompt_not_allowed', 'forbidden'],
    ['simple-secret', 'prompt_not_allowed', 'forbidden'],
    [undefined, 'invalid_params', 'user_error'],
    [['simple-prompt'], 'invalid_params', 'user_error'],
  ];
  for (const [name, reason, category] of table) {
    it(`${reason ? `denies (${reason})` : 'passes'} ${JSON.stringify(name)}`, () => {
      const verdict = rule!.evaluate(frameContext(getPrompt(name)));
      if (reason === undefined) return assert.deepEqual(verdict, { effect: 'continue' });
      assert.ok(verdict.effect === 'deny');
      assert.equal(verdict.reason, reason);
      assert.equal(verdict.category, category);
      assert.equal(verdict.reply, undefined);
    });
  }

  it('refuses, at load, a prompts rule without allow or deny', () => {
    assertRejected(policyWithRule({ id: 'p', prompts: {} }), 'rules[0].prompts', /^expected at least one of: allow, deny, found none$/);
  });
});
