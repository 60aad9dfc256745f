import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Rule } from '../../../../components/middleware-engine/types.js';
import { createHideRules } from '../../../../components/middleware-engine/rules/hide.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { ROOT } from '../../../helpers/paths.js';

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
    assert.deepEqual([request.direction, request.methods], ['client-to-server', ['tools/call', 'prompts/get', 'resources/read']]);
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

  it('continues when nothing in the list is hidden, and on error responses', () => {
    const { response: other } = rulesOf({ tools: ['not-there-*'] });
    assert.deepEqual(other.evaluate(frameContext(everything.tools, { method: 'tools/list' })), { effect: 'continue' });
    assert.deepEqual(response.evaluate(frameContext({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } }, { method: 'tools/list' })), { effect: 'continue' });
    assert.deepEqual(response.evaluate(frameContext({ jsonrpc: '2.0', id: 1, result: { tools: 'x' } }, { method: 'tools/list' })), { effect: 'continue' });
  });

  const calls: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['a hidden tool', toolCall('get-env'), 'hidden'],
    ['a hidden tool by glob', toolCall('toggle-simulated-logging'), 'hidden'],
    ['a shown tool', toolCall('echo', { message: 'hi' }), undefined],
    ['a call without a name (left to other rules)', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }, undefined],
    ['a hidden prompt', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'resource-prompt' } }, 'hidden'],
    ['a shown prompt', { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'simple-prompt' } }, undefined],
    ['a hidden resource', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/document/how-it-works.md' } }, 'hidden'],
    ['a hidden resource reached through ..', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/x/../document/how-it-works.md' } }, 'hidden'],
    ['a shown resource', { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'demo://resource/static/document/features.md' } }, undefined],
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

  it('throws with nothing to hide', () => {
    assert.throws(() => createHideRules({ id: 'h', hide: {} }, { mode: 'enforce' }), /hide needs at least one glob/);
    assert.throws(() => createHideRules({ id: 'h', hide: { tools: [] } }, { mode: 'enforce' }), /hide needs at least one glob/);
    assert.throws(() => createHideRules({ id: 'h', hide: { tool: ['x'] } } as never, { mode: 'enforce' }), /unknown key "tool"/);
  });
});
