// Issue 12, "fail closed": every path on which a rule cannot decide, through a compiled policy.
// Each case is run enforced (the frame is denied, or rewritten, with the reason) and observed (it
// is forwarded as it came, and the decision is recorded as a would-deny with the same reason).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateFrame, type Direction, type Identity, type Phase } from '../../../../components/policy/index.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import type { PolicyMode } from '../../../../components/policy/document/document.js';

const POLICY = `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: fail-closed, revision: 1 }
limits:
  maxDepth: 6
rules:
  - id: workspace-args
    arguments:
      tool: "read_*"
      properties:
        /options/depth: { type: integer, maximum: 3 }
        /options/root: { type: string, pathPrefix: /workspace/ }
        /files/0: { pathPrefix: /workspace/ }
      forbidden: [/raw, /skip]
  - id: no-etc
    resources: { deny: ["file:///etc/*"] }
  - id: hide-admin
    hide: { tools: ["admin_*"], resources: ["file:///secret/*"] }
  - id: write-rate
    rateLimit: { tools: ["write_*"], per: rule, capacity: 100, refillPerSecond: 1 }
  - id: tenants-only-read
    when: { identity: { tenantId: ["contractor-*"] } }
    tools: { allow: ["read_*"] }
  - id: admins-exempt
    unless: { identity: { userId: ["admin@*"] } }
    methods: { deny: ["debug/*"] }
`;

const buildPolicy = (loaded: Parameters<typeof compileLoadedPolicy>[0], mode?: PolicyMode) => compileLoadedPolicy(loaded, createRulesFromSpec, mode);
const policies = new Map<PolicyMode, ReturnType<typeof buildPolicy>>();
const policyIn = (mode: PolicyMode) => {
  let policy = policies.get(mode);
  if (policy === undefined) policies.set(mode, policy = buildPolicy(parsePolicyText(POLICY, 'fail-closed.yaml'), mode));
  return policy;
};

interface Case {
  readonly name: string;
  readonly frame: unknown;
  /** The raw line instead of the frame's JSON. */
  readonly line?: string;
  readonly method?: string;
  readonly direction?: Direction;
  readonly phase?: Phase;
  readonly identity?: Identity;
  readonly ruleId: string;
  readonly reason: string;
  /** Other rules that, observed, record the same would-deny (under enforce the first one stops the chain). */
  readonly alsoWould?: readonly string[];
  /** A rewrite instead of a deny. */
  readonly rewrite?: true;
  readonly message?: RegExp;
}

const call = (name: unknown, args?: unknown, extra: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, ...extra } });
const read = (uri: unknown) => ({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri } });

const CASES: Case[] = [
  // arguments: a pointer that cannot be followed
  {
    name: 'arguments as JSON text (the Python SDK decodes it): maximum and pathPrefix are not skipped',
    frame: call('read_file', { options: '{"depth":99,"root":"/"}' }),
    ruleId: 'workspace-args',
    reason: 'argument_invalid',
    message: /^argument \/options\/depth cannot be resolved: \/options is a string, not an object or array; argument \/options\/root cannot be resolved: \/options is a string, not an object or array$/,
  },
  { name: 'a number where the pointer needs an object', frame: call('read_file', { options: 5 }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /\/options is a number/ },
  { name: 'null where the pointer needs an object', frame: call('read_file', { options: null }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /\/options is null/ },
  { name: 'an array where the token is not an index', frame: call('read_file', { options: [{ depth: 99 }] }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /"depth" is not an array index/ },
  { name: 'a JSON-text array of files', frame: call('read_file', { files: '["/etc/passwd"]' }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /\/files is a string/ },
  // Past 2^53, the bounded value JSON.parse gives the rule may be a rounding of the one a Python server reads.
  { name: 'an integer beyond 2^53 where a maximum applies', frame: undefined, line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"options":{"depth":9007199254740993}}}}', method: 'tools/call', ruleId: 'workspace-args', reason: 'argument_invalid', message: /beyond ±2\^53/ },
  { name: 'Depth for depth (Go\'s encoding/json binds it)', frame: call('read_file', { options: { Depth: 99 } }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /^argument \/options\/depth is ambiguous/ },
  { name: 'RAW for a forbidden raw', frame: call('read_file', { RAW: true }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /^argument \/raw is ambiguous/ },
  { name: 'ſ (U+017F, long s) for s', frame: call('read_file', { '\u017fkip': true }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /^argument \/skip is ambiguous/ },
  { name: 'K (U+212A, Kelvin sign) for k', frame: call('read_file', { 's\u212aip': true }), ruleId: 'workspace-args', reason: 'argument_invalid', message: /^argument \/skip is ambiguous/ },
  { name: 'Arguments for arguments', frame: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', Arguments: { options: { depth: 99 } } } }, ruleId: 'workspace-args', reason: 'argument_invalid', message: /^arguments are ambiguous/ },
  {
    name: 'a tools/call without a name: arguments, hide and the rate limit cannot tell whether they govern it',
    frame: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { Name: 'admin_reset', arguments: { options: { depth: 99 } } } },
    ruleId: 'workspace-args', reason: 'invalid_params', alsoWould: ['hide-admin', 'write-rate'],
  },
  // resources: a URI that cannot be normalized, deny list only
  { name: 'a backslash URI against a deny list (and a hide list)', frame: read('file:///public\\..\\etc\\passwd'), ruleId: 'no-etc', reason: 'invalid_uri', alsoWould: ['hide-admin'] },
  { name: 'an escaped backslash', frame: read('file:///public/..%5c..%5csecret/key'), ruleId: 'no-etc', reason: 'invalid_uri', alsoWould: ['hide-admin'] },
  { name: 'an escaped NUL', frame: read('file:///etc/passwd%00/../../public/x'), ruleId: 'no-etc', reason: 'invalid_uri', alsoWould: ['hide-admin'] },
  { name: 'a resources/read without a uri', frame: read(7), ruleId: 'no-etc', reason: 'invalid_params', alsoWould: ['hide-admin'] },
  // hide: the lists
  {
    name: 'a list whose entries cannot be read: removed',
    frame: { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'read_file' }, { name: 7 }, 'admin_reset'] } },
    method: 'tools/list', direction: 'server-to-client', phase: 'response',
    ruleId: 'hide-admin', reason: 'hidden_from_list', rewrite: true,
  },
  {
    name: 'a list that is not a list: the response is refused',
    frame: { jsonrpc: '2.0', id: 1, result: { tools: { admin_reset: {} } } },
    method: 'tools/list', direction: 'server-to-client', phase: 'response',
    ruleId: 'hide-admin', reason: 'invalid_result',
  },
  // conditions: a field present but not a string
  { name: 'when on a tenant that is not a string: the rule applies', frame: call('write_file', {}), identity: { tenantId: 42 } as unknown as Identity, ruleId: 'tenants-only-read', reason: 'tool_not_allowed' },
  { name: 'unless on a user that is not a string: no exemption', frame: { jsonrpc: '2.0', id: 1, method: 'debug/dump' }, identity: { userId: ['admin@x'] } as unknown as Identity, ruleId: 'admins-exempt', reason: 'method_not_allowed' },
  // limits: stray closers do not hide the nesting after them
  { name: 'nesting after stray closers', frame: undefined, line: '{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}]]]][[[[[[[1]]]]]]]', method: 'ping', ruleId: 'limits.maxDepth', reason: 'nesting_too_deep' },
];

function run(testCase: Case, mode: PolicyMode) {
  const line = Buffer.from(`${testCase.line ?? JSON.stringify(testCase.frame)}\n`);
  const method = testCase.method ?? (testCase.frame as { method: string }).method;
  return evaluateFrame(policyIn(mode), testCase.direction ?? 'client-to-server', testCase.phase ?? 'request', method, line, 0, testCase.identity);
}

describe('fail closed: what a rule cannot decide it denies (enforce) or records as a would-deny (observe)', () => {
  for (const testCase of CASES) {
    it(testCase.name, () => {
      const enforced = run(testCase, 'enforce');
      if (testCase.rewrite) {
        assert.equal(enforced.action.kind, 'replace', JSON.stringify(enforced));
      } else {
        assert.ok(enforced.action.kind === 'deny', JSON.stringify(enforced));
        assert.equal(enforced.action.ruleId, testCase.ruleId);
        assert.equal(enforced.action.verdict.reason, testCase.reason);
        if (testCase.message) assert.match(enforced.action.verdict.message, testCase.message);
      }
      const last = enforced.decisions.at(-1)!;
      assert.deepEqual([last.ruleId, last.enforced, last.reason], [testCase.ruleId, true, testCase.reason]);

      const observed = run(testCase, 'observe');
      assert.equal(observed.action.kind, 'forward', 'observe changes nothing on the wire');
      for (const ruleId of [testCase.ruleId, ...testCase.alsoWould ?? []]) {
        const would = observed.decisions.find((decision) => decision.ruleId === ruleId);
        assert.ok(would, `${ruleId}: ${JSON.stringify(observed.decisions)}`);
        assert.deepEqual([would.effect, would.enforced, would.reason], [testCase.rewrite ? 'rewrite' : 'deny', false, testCase.reason], ruleId);
      }
    });
  }

  it('a tools/call without a name, covered only by a rate limit\'s tool globs, is denied by the rate limit', () => {
    const text = (mode: PolicyMode) => `apiVersion: mcp-sidecar/v1
kind: Policy
metadata: { name: rate, revision: 1 }
mode: ${mode}
rules:
  - id: write-rate
    rateLimit: { tools: ["write_*"], per: rule, capacity: 100, refillPerSecond: 1 }
`;
    const line = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { Name: 'write_file' } })}\n`);
    const enforced = evaluateFrame(buildPolicy(parsePolicyText(text('enforce'), 'rate.yaml')), 'client-to-server', 'request', 'tools/call', line, 0);
    assert.ok(enforced.action.kind === 'deny');
    assert.deepEqual([enforced.action.ruleId, enforced.action.verdict.reason, enforced.action.verdict.category], ['write-rate', 'invalid_params', 'user_error']);
    const observed = evaluateFrame(buildPolicy(parsePolicyText(text('observe'), 'rate.yaml')), 'client-to-server', 'request', 'tools/call', line, 0);
    assert.equal(observed.action.kind, 'forward');
    assert.deepEqual(observed.decisions.map((d) => [d.ruleId, d.enforced, d.reason]), [['write-rate', false, 'invalid_params']]);
  });

  it('lets through what it can decide: an object with absent members, a valid call, a readable identity', () => {
    const ok = (frame: unknown, identity?: Identity) => run({ name: 'ok', frame, ruleId: '', reason: '', identity }, 'enforce');
    assert.equal(ok(call('read_file', { options: { depth: 2, root: '/workspace/a' }, files: ['/workspace/b'] })).action.kind, 'forward');
    assert.equal(ok(call('read_file', { options: {} })).action.kind, 'forward');
    assert.equal(ok(call('read_file', {})).action.kind, 'forward');
    assert.equal(ok(call('read_file', { files: [] })).action.kind, 'forward', 'an index past the end of an array is absent');
    assert.equal(ok(read('file:///public/a%20b.txt')).action.kind, 'forward');
    assert.equal(ok({ jsonrpc: '2.0', id: 1, method: 'debug/dump' }, { userId: 'admin@x' }).action.kind, 'forward');
  });
});
