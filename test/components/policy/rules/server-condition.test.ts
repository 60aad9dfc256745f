import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuleSpec } from '../../../../components/policy/document/document.js';
import { parsePolicyText } from '../../../../components/policy/document/index.js';
import { createNamespaceResolver, evaluateFrame, type Direction, type Phase } from '../../../../components/policy/index.js';
import { compileLoadedPolicy } from '../../../../components/policy/engine/build.js';
import { createRulesFromSpec } from '../../../../components/policy/rules/index.js';
import { toolCall } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

const buildPolicy = (text: string) => compileLoadedPolicy(parsePolicyText(text, 'servers-policy.yaml'), createRulesFromSpec);
const HEADER = 'apiVersion: mcp-sidecar/v1\nkind: Policy\nmetadata: { name: per-server, revision: 1 }\nrules:\n';
const gateway = createNamespaceResolver('.', ['fs', 'memory', 'web_search'], 'gateway');
const line = (message: unknown) => Buffer.from(`${JSON.stringify(message)}\n`);

function actionOf(policy: ReturnType<typeof buildPolicy>, message: Record<string, unknown>, server: Parameters<typeof evaluateFrame>[12], options: { direction?: Direction; phase?: Phase; method?: string; tool?: string } = {}) {
  const method = options.method ?? (message['method'] as string);
  return evaluateFrame(policy, options.direction ?? 'client-to-server', options.phase ?? 'request', method, line(message), 0, undefined, false, 0, undefined, {}, options.tool, server).action.kind;
}

describe('when / unless server (gateway mode)', () => {
  const policy = buildPolicy(`${HEADER}  - id: fs-read-only
    when: { server: [fs] }
    tools: { allow: ["*.read_*", "*.list_*"] }
  - id: no-memory-deletes
    unless: { server: ["web*"] }
    tools: { deny: ["*delete*"] }
`);

  it('applies a rule to the calls its service takes, by the namespace of the tool named', () => {
    assert.equal(actionOf(policy, toolCall('fs.write_file', {}), gateway), 'deny');
    assert.equal(actionOf(policy, toolCall('fs.read_file', {}), gateway), 'forward');
    assert.equal(actionOf(policy, toolCall('memory.write_note', {}), gateway), 'forward', 'another service: fs-read-only does not apply');
  });

  it('exempts the services `unless` names, and only those', () => {
    assert.equal(actionOf(policy, toolCall('memory.delete_entities', {}), gateway), 'deny');
    assert.equal(actionOf(policy, toolCall('web_search.delete_cache', {}), gateway), 'forward');
  });

  it('keeps the rule applying when the service cannot be told (a name in no namespace)', () => {
    // The gateway refuses such a call itself; the rules must not be the ones to let it pass.
    assert.equal(actionOf(policy, toolCall('nowhere.write_file', {}), gateway), 'deny', 'when: undecided applies');
    assert.equal(actionOf(policy, toolCall('web_search', {}), gateway), 'deny', 'no namespace: fs-read-only applies, and allows no such name');
    assert.equal(actionOf(policy, toolCall('fsx.delete', {}), gateway), 'deny', 'unless: undecided does not exempt');
  });

  it('decodes the name as the gateway routes it (escapes included)', () => {
    const escaped = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"f\\u0073.write_file","arguments":{}}}\n');
    assert.equal(evaluateFrame(policy, 'client-to-server', 'request', 'tools/call', escaped, 0, undefined, false, 0, undefined, {}, undefined, gateway).action.kind, 'deny');
  });

  it('matches the one server by its executable name with --proxy', () => {
    const proxied = buildPolicy(`${HEADER}  - id: github-no-writes
    when: { server: ["server-github"] }
    tools: { deny: ["create_*"] }
`);
    assert.equal(actionOf(proxied, toolCall('create_issue', {}), 'server-github'), 'deny');
    assert.equal(actionOf(proxied, toolCall('create_issue', {}), 'server-filesystem'), 'forward');
    assert.equal(actionOf(proxied, toolCall('create_issue', {}), undefined), 'deny', 'no server known (policy test, replay): undecided, the rule applies');
  });

  it('asks the pump for the tool of each call when a response rule has a server condition, and leaves merged lists alone', () => {
    const spec = { id: 'fs-hidden', when: { server: ['fs'] }, hide: { tools: ['*.secret'] } } as unknown as RuleSpec;
    const response = createRulesFromSpec(spec, { mode: 'enforce' }).find((candidate) => candidate.phase === 'response');
    assert.equal(response?.needsTool, true);
    const unconditioned = createRulesFromSpec({ ...spec, when: undefined } as RuleSpec, { mode: 'enforce' }).find((candidate) => candidate.phase === 'response');
    assert.equal(unconditioned?.needsTool, undefined, 'nothing asked without a server condition');
    const hidden = buildPolicy(`${HEADER}  - id: fs-hidden
    when: { server: [fs] }
    hide: { tools: ["*.secret"] }
`);
    // A merged list belongs to no one service: a `when: server` rule does not rewrite it.
    const list = { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'fs.secret' }, { name: 'fs.read_file' }] } };
    assert.equal(actionOf(hidden, list, gateway, { direction: 'server-to-client', phase: 'response', method: 'tools/list' }), 'forward');
    assert.equal(actionOf(hidden, toolCall('fs.secret', {}), gateway), 'deny', 'the call itself is the service\'s');
    assert.equal(actionOf(hidden, toolCall('memory.secret', {}), gateway), 'forward');
  });

  const invalid: Array<[string, unknown, string, RegExp]> = [
    ['an empty server list', { server: [] }, 'rules[0].when.server', /^expected a non-empty list, found an empty list$/],
    ['a server that is not a list', { server: 'fs' }, 'rules[0].when.server', /list/],
  ];
  for (const [label, when, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ id: 'x', tools: { deny: ['a'] }, when } as unknown as RuleSpec), path, message));
  }
  it('refuses an empty unless at load, naming both keys', () => assertRejected(policyWithRule({ id: 'x', tools: { deny: ['a'] }, unless: {} } as unknown as RuleSpec), 'rules[0].unless', /^expected at least one of: identity, server, found none$/));
});
