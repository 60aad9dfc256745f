import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSidecarError } from '../../../../components/errors/index.js';
import { parsePolicyText, type PolicyError } from '../../../../components/policy/document/index.js';
import { compileCel } from '../../../../components/policy/document/cel-env.js';
import { evaluateFrame, type Identity } from '../../../../components/policy/index.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { MAX_CEL_INPUT_VALUES } from '../../../../components/policy/rules/cel.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { loadErrors, policyText } from '../rejections.js';

/** A policy of these rules, as YAML text (JSON is YAML), in `mode`. */
const policyOf = (rules: readonly unknown[], mode: 'enforce' | 'observe' = 'enforce'): string =>
  policyText({ rules }).replace('"rules":', `"mode":"${mode}","rules":`);

const compile = (text: string) => compileLoadedPolicy(parsePolicyText(text, 'cel.yaml'), createRulesFromSpec);

const callLine = (name: string, args: unknown, meta?: Record<string, unknown>): Buffer =>
  Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args, ...(meta && { _meta: meta }) } })}\n`);

/** The frame's action (and the first decision) under the policy. */
function run(text: string, name: string, args: unknown, identity?: Identity, meta?: Record<string, unknown>) {
  const evaluation = evaluateFrame(compile(text), 'client-to-server', 'request', 'tools/call', callLine(name, args, meta), 0, identity);
  return { action: evaluation.action.kind, decision: evaluation.decisions[0] };
}

const denyWhen = (cel: string, extra: Record<string, unknown> = {}) => ({ id: 'cel-rule', when: { cel }, tools: { deny: ['*'] }, ...extra });

/** The one error loading `text` gives, as `line:col: path: message`. */
function oneError(text: string): PolicyError {
  const errors = loadErrors(text);
  assert.equal(errors.length, 1, errors.map((e) => e.message).join(' | '));
  return errors[0]!;
}

describe('CEL conditions (when.cel)', () => {
  it('applies the rule when the expression is true, and passes the frame when it is false', () => {
    const text = policyOf([denyWhen('tool == "delete_file" && arguments.path.startsWith("/etc/")')]);
    assert.equal(run(text, 'delete_file', { path: '/etc/passwd' }).action, 'deny');
    assert.equal(run(text, 'delete_file', { path: '/tmp/x' }).action, 'forward');
    assert.equal(run(text, 'read_file', { path: '/etc/passwd' }).action, 'forward');
  });

  it('sees method, direction, identity (empty without auth) and the era a request names', () => {
    const text = policyOf([denyWhen('method == "tools/call" && direction == "client-to-server" && identity.tenantId == "acme" && era == "2026-07-28"')]);
    const era = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };
    assert.equal(run(text, 't', {}, { tenantId: 'acme' }, era).action, 'deny');
    assert.equal(run(text, 't', {}, { tenantId: 'globex' }, era).action, 'forward');
    // No identity: `identity.tenantId` is a missing key, an evaluation error: refused (fail closed).
    assert.equal(run(text, 't', {}, undefined, era).action, 'deny');
    assert.equal(run(policyOf([denyWhen('size(identity) == 0 && era == null && server == null')]), 't', {}).action, 'deny');
  });

  it('reads JSON integers as CEL ints and other numbers as doubles', () => {
    const text = policyOf([denyWhen('type(arguments.n) == int && arguments.n + 1 == 3 && type(arguments.x) == double && arguments.x > 0.5')]);
    assert.equal(run(text, 't', { n: 2, x: 0.75 }).action, 'deny');
    assert.equal(run(text, 't', { n: 2, x: 0.25 }).action, 'forward');
    assert.equal(run(text, 't', { n: 2.5, x: 0.75 }).action, 'forward', '2.5 is not an int');
    // 2.5 is a double: `double + int` has no overload, an evaluation error, which denies.
    const failed = run(policyOf([denyWhen('arguments.n + 1 == 3')]), 't', { n: 2.5 });
    assert.equal(failed.action, 'deny');
    assert.equal(failed.decision?.reason, 'condition_failed');
  });

  describe('fails closed', () => {
    const guarded = [denyWhen('arguments.path.startsWith("/secret/")', { id: 'guard' })];

    it('denies in enforce on an evaluation error, with the error as the message', () => {
      const { action, decision } = run(policyOf(guarded), 'read_file', { other: 1 });
      assert.equal(action, 'deny');
      assert.equal(decision?.reason, 'condition_failed');
      assert.equal(decision?.enforced, true);
      assert.match(decision?.message ?? '', /rule guard: its CEL condition failed to evaluate \(No such key: path\)/);
    });

    it('records a would-deny in observe and forwards the frame', () => {
      const { action, decision } = run(policyOf(guarded, 'observe'), 'read_file', { other: 1 });
      assert.equal(action, 'forward');
      assert.equal(decision?.reason, 'condition_failed');
      assert.equal(decision?.enforced, false);
      assert.match(decision?.message ?? '', /No such key: path/);
    });

    it('denies when a `dyn` result is not a bool', () => {
      const { action, decision } = run(policyOf([denyWhen('arguments.flag')]), 't', { flag: 'yes' });
      assert.equal(action, 'deny');
      assert.match(decision?.message ?? '', /the condition gave the string "yes", not a bool/);
    });

    it(`denies arguments of more than ${MAX_CEL_INPUT_VALUES} values rather than evaluating over them`, () => {
      const text = policyOf([denyWhen('arguments.items.exists(i, i == -1)')]);
      assert.equal(run(text, 't', { items: [1, 2, 3] }).action, 'forward');
      const { action, decision } = run(text, 't', { items: Array.from({ length: MAX_CEL_INPUT_VALUES }, (_, i) => i) });
      assert.equal(action, 'deny');
      assert.match(decision?.message ?? '', /more than 4096 values/);
    });
  });

  describe('at load (policy validate)', () => {
    it('refuses an expression that does not parse, at the line and column of its value', () => {
      const text = ['apiVersion: mcp-sidecar/v1', 'kind: Policy', 'metadata: { name: p, revision: 1 }', 'rules:', '  - id: broken', '    when:', '      cel: \'tool == \'', '    tools: { deny: ["*"] }', ''].join('\n');
      const error = oneError(text);
      assert.deepEqual([error.line, error.column, error.path], [7, 12, 'rules[0].when.cel']);
      assert.match(error.message, /^invalid CEL: .*\(at character 9 of the expression\)$/);
    });

    it('refuses an unknown variable, a non-bool expression and matches()', () => {
      assert.match(oneError(policyOf([denyWhen('toolName == "x"')])).message, /Unknown variable: toolName/);
      assert.match(oneError(policyOf([denyWhen('size(arguments)')])).message, /expected a CEL expression of type bool, found one of type int/);
      assert.match(oneError(policyOf([denyWhen('tool.matches("^a")')])).message, /matches\(\) runs a backtracking regular expression; use text\.re2Matches/);
    });

    it('refuses a comprehension nested in another unless it ranges over a literal', () => {
      const overLiteral = 'arguments.paths.all(p, ["/a/", "/b/"].exists(prefix, p.startsWith(prefix)))';
      assert.equal(Array.isArray(compileCel(overLiteral)), false);
      const overInputs = 'arguments.a.all(x, arguments.b.exists(y, x == y))';
      assert.match(oneError(policyOf([denyWhen(overInputs)])).message, /exists\(\) inside another comprehension must range over a literal list or map/);
    });

    it('compiles each expression once at load, not per frame', () => {
      const policy = compile(policyOf([denyWhen('tool == "x"')]));
      assert.equal(policy.rules.length, 1);
    });
  });

  describe('regular expressions run on RE2', () => {
    it('matches with re2Matches, unanchored, like CEL matches', () => {
      const text = policyOf([denyWhen('tool.re2Matches("^(delete|drop)_")')]);
      assert.equal(run(text, 'drop_table', {}).action, 'deny');
      assert.equal(run(text, 'read_table', {}).action, 'forward');
    });

    it('refuses a lookahead at load: RE2 has none', () => {
      assert.match(oneError(policyOf([denyWhen('tool.re2Matches("^(?=admin)")')])).message, /expected a regular expression in RE2 syntax.*\(\?=/);
    });

    it('refuses a pattern that is not a string literal', () => {
      assert.match(oneError(policyOf([denyWhen('tool.re2Matches(tool)')])).message, /takes its pattern as a string literal/);
    });

    it('runs a catastrophic-backtracking pattern on a long input as a plain match (linear time)', () => {
      // (a+)+$ over "aaa…a!" is exponential in a backtracking engine; in RE2 it is one pass. The
      // assertion is the outcome; a backtracking engine would not return from 10 000 characters.
      const text = policyOf([denyWhen('arguments.s.re2Matches("(a+)+$")')]);
      assert.equal(run(text, 't', { s: `${'a'.repeat(10_000)}!` }).action, 'forward');
      assert.equal(run(text, 't', { s: 'a'.repeat(10_000) }).action, 'deny');
    });
  });

  describe('tests: (a self-test at load)', () => {
    const withTests = (tests: unknown[]) => policyOf([denyWhen('tool == "rm" && arguments.force == true', { tests })]);

    it('loads a policy whose cases all come out as expected', () => {
      const text = withTests([
        { input: { tool: 'rm', arguments: { force: true } }, expect: 'deny' },
        { input: { tool: 'rm', arguments: { force: false } }, expect: 'allow' },
        { input: { tool: 'ls', arguments: {} }, expect: 'allow' },
        // An evaluation error is a deny (fail closed), and a test can pin that down.
        { input: { tool: 'rm', arguments: {} }, expect: 'deny' },
      ]);
      assert.equal(compile(text).rules.length, 1);
    });

    it('refuses the policy when a case does not, naming the rule and the case', () => {
      const text = withTests([
        { input: { tool: 'rm', arguments: { force: true } }, expect: 'deny' },
        { input: { tool: 'rm', arguments: { force: true } }, expect: 'allow' },
      ]);
      assert.throws(() => compile(text), (error: unknown) => {
        assert.ok(isSidecarError(error) && error.code === 'SIDECAR_ERR_POLICY_INVALID');
        assert.match(error.message, /rule "cel-rule": tests\[1\] expects allow, but the rule gives deny \(tool "rm" is not allowed\)/);
        return true;
      });
    });

    it('runs the cases through the identity condition too', () => {
      const rule = { id: 'acme-only', when: { identity: { tenantId: ['acme'] }, cel: 'tool == "rm"' }, tools: { deny: ['*'] } };
      const text = policyOf([{ ...rule, tests: [{ input: { tool: 'rm', identity: { tenantId: 'acme' } }, expect: 'deny' }, { input: { tool: 'rm' }, expect: 'allow' }] }]);
      assert.equal(compile(text).rules.length, 1);
      assert.equal(run(text, 'rm', {}, { tenantId: 'globex' }).action, 'forward');
      assert.equal(run(text, 'rm', {}, { tenantId: 'acme' }).action, 'deny');
    });

    it('refuses a malformed case at its line and column', () => {
      const errors = loadErrors(withTests([{ input: { tool: 'rm' }, expect: 'maybe' }]));
      assert.equal(errors[0]?.path, 'rules[0].tests[0].expect');
    });
  });
});
