import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Rule } from '../../../../components/policy/engine/types.js';
import { createHideRules } from '../../../../components/policy/rules/hide.js';
import { frameContext, resultOf, toolCall } from '../../../helpers/frame-context.js';
import { ROOT } from '../../../helpers/paths.js';
import { assertRejected, policyWithRule } from '../rejections.js';

/** tools/list, prompts/list, resources/list, resources/templates/list results of @modelcontextprotocol/server-everything 2026.8.31. */
function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'frames', `server-everything-${name}.json`), 'utf8')) as Record<string, unknown>;
}
const everything = {
  tools: fixture('tools-list'),
  prompts: fixture('prompts-list'),
  resources: fixture('resources-list'),
  templates: fixture('resources-templates-list'),
};
const names = (body: unknown, key: string, field = 'name'): string[] =>
  ((body as { result: Record<string, Array<Record<string, string>>> }).result[key] ?? []).map((entry) => entry[field]!);

function rulesOf(hide: Parameters<typeof createHideRules>[0]['hide']): { request: Rule; response: Rule } {
  const rules = createHideRules({ id: 'hide-them', hide }, { mode: 'enforce' });
  const request = rules.find((rule) => rule.phase === 'request');
  const response = rules.find((rule) => rule.phase === 'response');
  assert.ok(request && response && rules.length === 2);
  return { request, response };
}

describe('hide rule', () => {
  const { request, response } = rulesOf({ tools: ['get-env', 'toggle-*', 'trigger-*'], prompts: ['resource-prompt'], resources: ['demo://resource/static/document/how-*', 'Dynamic Blob*'] });

  it('compiles to a request rule and a response rule over the lists and calls it hides', () => {
    assert.deepEqual([response.direction, response.methods], ['server-to-client', ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']]);
    assert.deepEqual([request.direction, request.methods], ['client-to-server', ['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'resources/unsubscribe']]);
    const toolsOnly = rulesOf({ tools: ['x'] });
    assert.deepEqual(toolsOnly.response.methods, ['tools/list']);
    assert.deepEqual(toolsOnly.request.methods, ['tools/call']);
  });

  it('removes hidden tools from the real server-everything tools/list, keeping the others in order', () => {
    const before = names(everything.tools, 'tools');
    assert.ok(before.includes('get-env') && before.includes('toggle-simulated-logging') && before.length > 10, 'the fixture is the real list');
    const verdict = response.evaluate(frameContext(everything.tools, { method: 'tools/list' }));
    assert.ok(verdict.effect === 'rewrite');
    assert.equal(verdict.reason, 'hidden_from_list');
    const hidden = before.filter((name) => name === 'get-env' || name.startsWith('toggle-') || name.startsWith('trigger-'));
    assert.equal(verdict.changes, hidden.length);
    assert.ok(hidden.length >= 4);
    assert.deepEqual(names(verdict.body, 'tools'), before.filter((name) => !hidden.includes(name)));
    // Structural sharing: kept entries are the same objects; everything but result.tools is as it was.
    const original = everything.tools as { id: unknown; result: { tools: unknown[] } };
    const rewritten = verdict.body as typeof original;
    assert.equal(rewritten.id, original.id);
    const frame = frameContext(everything.tools, { method: 'tools/list' });
    const again = response.evaluate(frame);
    assert.ok(again.effect === 'rewrite');
    const source = (frame.body() as typeof original).result.tools;
    for (const entry of (again.body as typeof original).result.tools) assert.ok(source.includes(entry));
  });

  it('removes hidden prompts, resources (by uri or name) and resource templates (by name or uriTemplate)', () => {
    const prompts = response.evaluate(frameContext(everything.prompts, { method: 'prompts/list' }));
    assert.ok(prompts.effect === 'rewrite');
    assert.deepEqual(names(prompts.body, 'prompts'), ['simple-prompt', 'args-prompt', 'completable-prompt']);
    assert.equal(prompts.changes, 1);

    const resources = response.evaluate(frameContext(everything.resources, { method: 'resources/list' }));
    assert.ok(resources.effect === 'rewrite');
    assert.deepEqual(names(resources.body, 'resources'), names(everything.resources, 'resources').filter((name) => name !== 'how-it-works.md'));

    const templates = response.evaluate(frameContext(everything.templates, { method: 'resources/templates/list' }));
    assert.ok(templates.effect === 'rewrite');
    assert.deepEqual(names(templates.body, 'resourceTemplates'), ['Dynamic Text Resource']);
    const byTemplate = rulesOf({ resources: ['demo://resource/dynamic/text/*'] });
    const viaUriTemplate = byTemplate.response.evaluate(frameContext(everything.templates, { method: 'resources/templates/list' }));
    assert.ok(viaUriTemplate.effect === 'rewrite');
    assert.deepEqual(names(viaUriTemplate.body, 'resourceTemplates'), ['Dynamic Blob Resource']);
  });

  it('continues when nothing in the list is hidden, on error responses and on results without the list', () => {
    const { response: other } = rulesOf({ tools: ['not-there-*'] });
    assert.deepEqual(other.evaluate(frameContext(everything.tools, { method: 'tools/list' })), { effect: 'continue' });
    assert.deepEqual(response.evaluate(frameContext({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } }, { method: 'tools/list' })), { effect: 'continue' });
    assert.deepEqual(response.evaluate(frameContext(resultOf({ nextCursor: 'c' }), { method: 'tools/list' })), { effect: 'continue' });
  });

  it('denies a result whose list is not a list: it cannot be filtered', () => {
    for (const result of [{ tools: 'x' }, { tools: { a: { name: 'get-env' } } }, null, 'tools']) {
      const verdict = response.evaluate(frameContext(resultOf(result), { method: 'tools/list' }));
      assert.ok(verdict.effect === 'deny', JSON.stringify(result));
      assert.deepEqual([verdict.reason, verdict.category, verdict.message], ['invalid_result', 'internal_error', 'a tools/list result whose tools is not a list cannot be filtered']);
    }
  });

  it('removes the entries it cannot read: it cannot tell they are not hidden', () => {
    const tools = response.evaluate(frameContext(resultOf({ tools: [{ name: 'echo' }, 'get-env', { name: 7 }, null, { title: 'no name' }, [{ name: 'x' }]] }), { method: 'tools/list' }));
    assert.ok(tools.effect === 'rewrite');
    assert.deepEqual([tools.changes, (tools.body as { result: { tools: unknown[] } }).result.tools], [5, [{ name: 'echo' }]]);
    const resources = response.evaluate(frameContext(resultOf({ resources: [
      { uri: 'file:///a.txt', name: 'A file with spaces in its name' },
      { uri: 'file:///a b.txt', name: 'b' }, // cannot be normalized: the server may read it as anything
      { uri: 'file:///c%5c..%5cetc', name: 'c' },
      { uri: 'file:///d.txt' }, // no name: a name glob could have matched it
    ] }), { method: 'resources/list' }));
    assert.ok(resources.effect === 'rewrite');
    assert.deepEqual(names(resources.body, 'resources'), ['A file with spaces in its name']);
    assert.equal(resources.changes, 3);
  });

  const calls: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['a hidden tool', toolCall('get-env'), 'hidden'],
    ['a hidden tool by glob', toolCall('toggle-simulated-logging'), 'hidden'],
    ['a shown tool', toolCall('echo', { message: 'hi' }), undefined],
    ['a hidden prompt', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'resource-prompt' } }, 'hidden'],
    ['a shown prompt', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'simple-prompt' } }, undefined],
    ['a hidden resource', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/document/how-it-works.md' } }, 'hidden'],
    ['a hidden resource reached through ..', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/x/../document/how-it-works.md' } }, 'hidden'],
    ['a shown resource', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/document/features.md' } }, undefined],
    // A hidden resource cannot be watched either: subscribe and unsubscribe name it as read does.
    ['a subscription to a hidden resource', { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'demo://resource/static/document/how-it-works.md' } }, 'hidden'],
    ['a subscription to a hidden resource reached through ..', { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'demo://resource/static/x/../document/how-it-works.md' } }, 'hidden'],
    ['a subscription to a shown resource', { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'demo://resource/static/document/features.md' } }, undefined],
    ['an unsubscription from a hidden resource', { jsonrpc: '2.0', id: 1, method: 'resources/unsubscribe', params: { uri: 'demo://resource/static/document/how-it-works.md' } }, 'hidden'],
  ];
  for (const [label, message, reason] of calls) {
    it(`${reason ? 'denies' : 'passes'} ${label}`, () => {
      const verdict = request.evaluate(frameContext(message));
      if (reason === undefined) return assert.deepEqual(verdict, { effect: 'continue' });
      assert.ok(verdict.effect === 'deny');
      assert.equal(verdict.reason, reason);
      assert.equal(verdict.category, 'forbidden');
      assert.match(verdict.message, /is not available$/);
    });
  }

  const unreadable: Array<[string, Record<string, unknown>, string, string]> = [
    ['a call without a name', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }, 'invalid_params', 'tools/call needs params.name, a string'],
    ['a call without params', { jsonrpc: '2.0', id: 1, method: 'tools/call' }, 'invalid_params', 'tools/call needs params.name, a string'],
    ['a prompt name that is not a string', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: ['resource-prompt'] } }, 'invalid_params', 'prompts/get needs params.name, a string'],
    ['a read without a uri', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { name: 'x' } }, 'invalid_params', 'resources/read needs params.uri, a string'],
    ['a URI that cannot be normalized (a backslash)', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/x\\..\\document/how-it-works.md' } }, 'invalid_uri', 'resource URI "demo://resource/static/x\\\\..\\\\document/how-it-works.md" cannot be parsed'],
    ['a URI with an escaped backslash', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/x/..%5cdocument/how-it-works.md' } }, 'invalid_uri', 'resource URI "demo://resource/static/x/..%5cdocument/how-it-works.md" cannot be parsed'],
  ];
  for (const [label, message, reason, text] of unreadable) {
    it(`denies ${label}: it cannot tell whether it is hidden`, () => {
      const verdict = request.evaluate(frameContext(message));
      assert.ok(verdict.effect === 'deny', JSON.stringify(verdict));
      assert.deepEqual([verdict.reason, verdict.category, verdict.message], [reason, 'user_error', text]);
    });
  }

  it('still hides an unparsable URI that a glob matches as written', () => {
    const { request: etc } = rulesOf({ resources: ['file:///etc/*'] });
    const verdict = etc.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///etc/pass wd' } }));
    assert.ok(verdict.effect === 'deny');
    assert.equal(verdict.reason, 'hidden');
  });

  it('refuses, at load, a hide with nothing to hide', () => {
    assertRejected(policyWithRule({ id: 'h', hide: {} }), 'rules[0].hide', /^expected at least one of: tools, prompts, resources, found none$/);
    assertRejected(policyWithRule({ id: 'h', hide: { tools: [] } }), 'rules[0].hide.tools', /^expected a non-empty list, found an empty list$/);
    assertRejected(policyWithRule({ id: 'h', hide: { tool: ['x'] } }), 'rules[0].hide.tool', /^unknown key "tool" \(expected one of: tools, prompts, resources\)$/);
  });
});
