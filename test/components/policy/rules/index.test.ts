import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildLock, formatLock } from '../../../../components/tool-pins/index.js';
import type { RuleSpec } from '../../../../components/policy/document/document.js';
import { createRulesFromSpec, RULE_KINDS } from '../../../../components/policy/rules/index.js';
import { assertRejected, policyWithRule } from '../rejections.js';

describe('createRulesFromSpec', () => {
  // The example policy of components/policy/document.ts.
  const specs: Array<[RuleSpec, string, number]> = [
    [{ id: 'client-methods', methods: { from: 'client', allow: ['initialize', 'ping', 'notifications/*', 'tools/*'] } }, 'methods', 1],
    [{ id: 'read-only-tools', tools: { allow: ['read_*', 'list_*'], reply: 'tool-error' } }, 'tools', 1],
    [{ id: 'prompts', prompts: { deny: ['x'] } }, 'prompts', 1],
    [{ id: 'resources', resources: { allow: ['file:///workspace/*'] } }, 'resources', 1],
    [{ id: 'hide-admin', hide: { tools: ['admin_*'] } }, 'hide', 2],
    [{ id: 'workspace-paths', arguments: { tool: 'read_file', properties: { '/path': { type: 'string', pathPrefix: '/workspace/' } }, required: ['/path'], reply: 'error' } }, 'arguments', 1],
    [{ id: 'call-rate', rateLimit: { tools: ['*'], per: 'tool', capacity: 20, refillPerSecond: 5 } }, 'rateLimit', 1],
    [{ id: 'secrets', mode: 'observe', redact: { detectors: 'all' } }, 'redact', 2], // results, and server notifications
    [{ id: 'slow-reports', deadline: { tools: ['report_*'], timeoutMs: 600000 } }, 'deadline', 1],
    [{ id: 'tool-pins', pins: { lock: emptyLockFile(), unknown: 'deny' } }, 'pins', 2], // lists, and calls
  ];
  for (const [spec, kind, count] of specs) {
    it(`dispatches ${kind}`, () => {
      const rules = createRulesFromSpec(spec, { mode: 'observe' });
      assert.equal(rules.length, count);
      for (const rule of rules) {
        assert.equal(rule.kind, kind);
        assert.equal(rule.id, spec.id);
        assert.equal(rule.mode, 'observe', 'the mode comes from the context');
        assert.ok(rule.methods.length > 0);
      }
    });
  }

  it('covers every kind of the document', () => {
    assert.deepEqual([...RULE_KINDS].sort(), specs.map(([, kind]) => kind).sort());
  });

  it('refuses, at load, a rule with no kind or two kinds', () => {
    assertRejected(policyWithRule({ id: 'empty' }), 'rules[0]', /^expected exactly one rule kind \(one of: methods, tools, prompts, resources, hide, arguments, rateLimit, redact, deadline, pins\), found none$/);
    assertRejected(policyWithRule({ id: 'two', tools: { allow: ['*'], reply: 'error' }, prompts: { allow: ['*'] } }), 'rules[0]', /^expected exactly one rule kind \(.*\), found 2 kinds: tools, prompts$/);
  });
});

/** A lock file of nothing, for the pins rule (it reads its lock when compiled). */
function emptyLockFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rules-index-')), 'tools.lock.json');
  writeFileSync(file, formatLock(buildLock({ tool: [], prompt: [], resourceTemplate: [] })));
  return file;
}
