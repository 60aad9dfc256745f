import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PolicyMode } from '../../../../components/policy/document/document.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { evaluateFrame, PASS } from '../../../../components/policy/index.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { assertRejected, policyText, policyWithRule } from '../rejections.js';

const line = (message: unknown): Buffer => Buffer.from(`${JSON.stringify(message)}\n`);
const compile = (rules: readonly unknown[], mode?: PolicyMode) => compileLoadedPolicy(parsePolicyText(policyText({ rules }), 'p.yaml'), createRulesFromSpec, mode);
const evaluateCall = (policy: ReturnType<typeof compile>, name: unknown) =>
  evaluateFrame(policy, 'client-to-server', 'request', 'tools/call', line(toolCall(name, {})), 0);

describe('deadline rule', () => {
  const [rule] = createRulesFromSpec({ id: 'slow', deadline: { tools: ['report_*'], timeoutMs: 600_000 } }, { mode: 'enforce' });

  it('acts on the client\'s tools/call requests only', () => {
    assert.equal(rule!.direction, 'client-to-server');
    assert.equal(rule!.phase, 'request');
    assert.deepEqual(rule!.methods, ['tools/call']);
  });

  it('gives a matching tool its deadline, named by the rule, and says nothing of the others', () => {
    assert.deepEqual(rule!.evaluate(frameContext(toolCall('report_q3'))), { effect: 'deadline', deadline: { ruleId: 'slow', timeoutMs: 600_000 } });
    assert.equal(rule!.evaluate(frameContext(toolCall('read_file'))).effect, 'continue');
  });

  it('hands every matching call the same frozen verdict: nothing allocated per call', () => {
    assert.equal(rule!.evaluate(frameContext(toolCall('report_a'))), rule!.evaluate(frameContext(toolCall('report_b'))));
  });

  it('fails closed on a call without a string name: it cannot tell which deadline applies', () => {
    const verdict = rule!.evaluate(frameContext(toolCall(42)));
    assert.equal(verdict.effect, 'deny');
    assert.equal(verdict.effect === 'deny' && verdict.reason, 'invalid_params');
  });

  it('is refused at load without tools, with a timeout out of bounds, or with an unknown key', () => {
    assertRejected(policyWithRule({ id: 'd', deadline: { timeoutMs: 1000 } }), 'rules[0].deadline.tools', /^required key is missing/);
    assertRejected(policyWithRule({ id: 'd', deadline: { tools: ['*'], timeoutMs: 86_400_001 } }), 'rules[0].deadline.timeoutMs', /^expected a whole number of milliseconds from 0 to 86400000/);
    assertRejected(policyWithRule({ id: 'd', deadline: { tools: ['*'], timeoutMs: 2.5 } }), 'rules[0].deadline.timeoutMs', /^expected a whole number of milliseconds/);
    assertRejected(policyWithRule({ id: 'd', deadline: { tools: ['*'], timeoutMs: 1, methods: ['ping'] } }), 'rules[0].deadline.methods', /^unknown key/);
  });
});

describe('deadline rules in the chain', () => {
  it('the first matching enforced rule decides, in policy order', () => {
    const policy = compile([
      { id: 'build-unbounded', deadline: { tools: ['build'], timeoutMs: 0 } },
      { id: 'everything', deadline: { tools: ['*'], timeoutMs: 30_000 } },
    ]);
    assert.deepEqual(evaluateCall(policy, 'build').deadline, { ruleId: 'build-unbounded', timeoutMs: 0 });
    assert.deepEqual(evaluateCall(policy, 'search').deadline, { ruleId: 'everything', timeoutMs: 30_000 });
  });

  it('does not stop the chain: a later rule still denies', () => {
    const policy = compile([
      { id: 'everything', deadline: { tools: ['*'], timeoutMs: 30_000 } },
      { id: 'no-deletes', tools: { deny: ['delete_*'] } },
    ]);
    const denied = evaluateCall(policy, 'delete_all');
    assert.equal(denied.action.kind, 'deny');
    const passed = evaluateCall(policy, 'read_file');
    assert.equal(passed.action.kind, 'forward');
    assert.deepEqual(passed.decisions, [], 'a deadline is not a decision: it neither denies nor rewrites');
  });

  it('a shadow (observe) rule is only carried as observed, and never hides an enforced one after it', () => {
    const policy = compile([
      { id: 'trial', mode: 'observe', deadline: { tools: ['*'], timeoutMs: 5_000 } },
      { id: 'enforced', deadline: { tools: ['*'], timeoutMs: 60_000 } },
    ]);
    const evaluation = evaluateCall(policy, 'search');
    assert.deepEqual(evaluation.deadline, { ruleId: 'enforced', timeoutMs: 60_000 });
    assert.deepEqual(evaluation.observedDeadline, { ruleId: 'trial', timeoutMs: 5_000 });
  });

  it('a policy in observe mode enforces no deadline: every rule\'s is observed only', () => {
    const policy = compile([{ id: 'everything', deadline: { tools: ['*'], timeoutMs: 30_000 } }], 'observe');
    const evaluation = evaluateCall(policy, 'search');
    assert.equal(evaluation.deadline, undefined);
    assert.deepEqual(evaluation.observedDeadline, { ruleId: 'everything', timeoutMs: 30_000 });
  });

  it('leaves other methods and unmatched tools on the shared PASS', () => {
    const policy = compile([{ id: 'reports', deadline: { tools: ['report_*'], timeoutMs: 30_000 } }]);
    assert.equal(evaluateCall(policy, 'search'), PASS);
    assert.equal(evaluateFrame(policy, 'client-to-server', 'request', 'resources/read', line({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'a' } }), 0), PASS);
  });
});
