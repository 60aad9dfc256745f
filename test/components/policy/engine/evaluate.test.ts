import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, evaluateFrame, PASS, type Rule, type Verdict } from '../../../../components/policy/index.js';
import { PERMISSIVE_POLICY, type PolicyDocument, type PolicyMode, type RuleSpec } from '../../../../components/policy/document/document.js';

// Rules made to order: each spec's `id` says what its rule does, so the engine is tested alone.
type TestSpec = { id: string; mode?: PolicyMode; methods?: string[]; verdict: (body: any) => Verdict; calls?: string[] };

function policyOf(specs: TestSpec[], mode: PolicyMode = 'enforce') {
  const document: PolicyDocument = { ...PERMISSIVE_POLICY, mode, rules: specs.map((s) => ({ id: s.id, mode: s.mode, tools: { allow: ['*'], reply: 'error' } })) as RuleSpec[] };
  return compilePolicy(document, 'digest', (spec, context): Rule[] => {
    const test = specs.find((s) => s.id === spec.id)!;
    return [{
      id: spec.id, kind: 'test', mode: context.mode, direction: 'client-to-server', phase: 'request', methods: test.methods ?? ['*'],
      evaluate(frame) {
        test.calls?.push(frame.method);
        return test.verdict(frame.body());
      },
    }];
  });
}

const deny = (reason: string): Verdict => ({ effect: 'deny', reason, message: reason, category: 'forbidden' });
const line = (body: object) => Buffer.from(`${JSON.stringify(body)}\n`);
const call = line({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', text: 'secret' } });
const run = (policy: ReturnType<typeof policyOf>, frame = call, method = 'tools/call') => evaluateFrame(policy, 'client-to-server', 'request', method, frame, 0);

describe('evaluateFrame', () => {
  it('should pass frames of a policy with no rules without allocating', () => {
    const policy = policyOf([]);
    assert.equal(policy.isEmpty, true);
    assert.equal(run(policy), PASS);
  });

  it('should hand back the parsed frame only when asked (observers), and only if no rule rewrote it', () => {
    const policy = policyOf([{ id: 'reads', verdict: () => ({ effect: 'continue' }) }]);
    assert.equal(run(policy), PASS, 'without keepBody a frame no rule acted on allocates nothing');
    const kept = evaluateFrame(policy, 'client-to-server', 'request', 'tools/call', call, 0, undefined, true);
    assert.deepEqual(kept.body, JSON.parse(call.toString()));
    const rewriting = policyOf([{ id: 'rewrites', verdict: (body) => ({ effect: 'rewrite', reason: 'r', body: { ...body, params: {} }, changes: 1 }) }]);
    const rewritten = evaluateFrame(rewriting, 'client-to-server', 'request', 'tools/call', call, 0, undefined, true);
    assert.equal(rewritten.action.kind, 'replace');
    assert.equal(rewritten.body, undefined, 'a rewritten body is not the frame as received');
  });

  it('should never call a rule for a method it cannot match', () => {
    const calls: string[] = [];
    const policy = policyOf([{ id: 'only-calls', methods: ['tools/call'], verdict: () => deny('no'), calls }]);
    assert.equal(run(policy, line({ jsonrpc: '2.0', id: 2, method: 'ping' }), 'ping'), PASS);
    assert.deepEqual(calls, []);
    assert.equal(run(policy).action.kind, 'deny');
    assert.deepEqual(calls, ['tools/call']);
  });

  it('should stop at the first enforced deny, recording it', () => {
    const calls: string[] = [];
    const policy = policyOf([{ id: 'a', verdict: () => deny('first') }, { id: 'b', verdict: () => deny('second'), calls }]);
    const result = run(policy);
    assert.deepEqual(result.action, { kind: 'deny', ruleId: 'a', verdict: deny('first') });
    assert.deepEqual(result.decisions.map((d) => [d.ruleId, d.effect, d.enforced]), [['a', 'deny', true]]);
    assert.deepEqual(calls, []);
  });

  // Effective mode: observe if the policy observes, else the rule's own, else enforce.
  const matrix: Array<[PolicyMode, PolicyMode | undefined, boolean]> = [
    ['enforce', undefined, true], ['enforce', 'enforce', true], ['enforce', 'observe', false],
    ['observe', undefined, false], ['observe', 'enforce', false], ['observe', 'observe', false],
  ];
  for (const [global, ruleMode, enforced] of matrix) {
    it(`should ${enforced ? 'enforce' : 'only record'} a deny with policy ${global} and rule ${ruleMode ?? '(unset)'}`, () => {
      const result = run(policyOf([{ id: 'r', mode: ruleMode, verdict: () => deny('nope') }], global));
      assert.equal(result.action.kind, enforced ? 'deny' : 'forward');
      assert.deepEqual(result.decisions.map((d) => [d.ruleId, d.enforced, d.reason]), [['r', enforced, 'nope']]);
    });
  }

  it('should let a shadow deny record and the chain go on to an enforced one', () => {
    const result = run(policyOf([{ id: 'shadow', mode: 'observe', verdict: () => deny('would') }, { id: 'real', verdict: () => deny('does') }]));
    assert.deepEqual(result.decisions.map((d) => [d.ruleId, d.enforced]), [['shadow', false], ['real', true]]);
    assert.equal(result.action.kind === 'deny' && result.action.ruleId, 'real');
  });

  it('should chain enforced rewrites and re-serialize once; a shadow rewrite changes nothing', () => {
    const rewrite = (id: string, mode?: PolicyMode): TestSpec => ({
      id, mode, verdict: (body) => ({ effect: 'rewrite', reason: 'r', changes: 1, body: { ...body, params: { ...body.params, seen: [...(body.params.seen ?? []), id] } } }),
    });
    const result = run(policyOf([rewrite('one'), rewrite('shadow', 'observe'), rewrite('two')]));
    assert.equal(result.action.kind, 'replace');
    const out = JSON.parse((result.action as { line: Buffer }).line.toString());
    assert.deepEqual(out.params.seen, ['one', 'two']);
    assert.deepEqual(result.decisions.map((d) => [d.ruleId, d.effect, d.enforced]), [['one', 'rewrite', true], ['shadow', 'rewrite', false], ['two', 'rewrite', true]]);
  });

  it('should forward the original bytes when only shadow rules rewrote', () => {
    const result = run(policyOf([{ id: 's', mode: 'observe', verdict: (b) => ({ effect: 'rewrite', reason: 'r', changes: 1, body: { ...b, x: 1 } }) }]));
    assert.equal(result.action.kind, 'forward');
  });

  it('should deny when a rule throws under enforce, and only record it under observe', () => {
    const boom: TestSpec = { id: 'boom', verdict: () => { throw new Error('kaput'); } };
    const enforced = run(policyOf([boom]));
    assert.equal(enforced.action.kind, 'deny');
    assert.deepEqual((enforced.action as { verdict: Verdict }).verdict, { effect: 'deny', reason: 'rule_failed', category: 'internal_error', message: 'rule boom failed to evaluate: kaput' });
    const observed = run(policyOf([boom], 'observe'));
    assert.equal(observed.action.kind, 'forward');
    assert.equal(observed.decisions[0]!.reason, 'rule_failed');
  });

  it('should deny when a rule throws something that cannot be described, never throwing itself', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwing = Object.defineProperty(new Error('x'), 'message', { get() { throw new Error('no message'); } });
    for (const thrown of [Object.create(null), revoked.proxy, throwing, undefined]) {
      const boom: TestSpec = { id: 'boom', verdict: () => { throw thrown; } };
      const enforced = run(policyOf([boom]));
      assert.equal(enforced.action.kind, 'deny');
      const verdict = (enforced.action as { verdict: Verdict & { reason: string; message: string } }).verdict;
      assert.equal(verdict.reason, 'rule_failed');
      assert.match(verdict.message, /^rule boom failed to evaluate: /);
      const observed = run(policyOf([boom], 'observe'));
      assert.equal(observed.action.kind, 'forward');
      assert.deepEqual(observed.decisions.map((d) => [d.ruleId, d.enforced, d.reason]), [['boom', false, 'rule_failed']]);
    }
  });

  it('should deny a frame whose body is not valid JSON when a rule needs the body', () => {
    const result = run(policyOf([{ id: 'reads', verdict: () => ({ effect: 'continue' }) }]), Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,,2]}\n'));
    assert.equal(result.action.kind, 'deny');
    assert.equal((result.action as { verdict: Verdict & { reason: string } }).verdict.reason, 'invalid_json');
  });

  // (An integer id beyond 2^53 never gets here: the envelope reader refuses it as ambiguous.)
  it('should keep the id of a rewritten frame exactly as written (1.0, escapes)', () => {
    const rewrite: TestSpec = { id: 'rw', verdict: (body) => ({ effect: 'rewrite', reason: 'r', changes: 1, body: { ...body, params: { redacted: true } } }) };
    for (const rawId of ['1.0', '7e0', '"a\\"b"', '"\\u0061"']) {
      const frame = Buffer.from(`{"jsonrpc":"2.0","id":${rawId},"method":"tools/call","params":{"x":1}}\n`);
      const result = run(policyOf([rewrite]), frame);
      assert.equal((result.action as { line: Buffer }).line.toString(), `{"jsonrpc":"2.0","id":${rawId},"method":"tools/call","params":{"redacted":true}}\n`);
    }
  });
});
