import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourcesRule } from '../../../../components/policy/document/document.js';
import { createResourcesRules } from '../../../../components/policy/rules/resources.js';
import { normalizeUri } from '../../../../components/policy/rules/normalize.js';
import { frameContext } from '../../../helpers/frame-context.js';

const request = (method: string) => (uri: unknown): Record<string, unknown> => ({ jsonrpc: '2.0', id: 3, method, params: { uri } });
const read = request('resources/read');

describe('normalizeUri', () => {
  const table: Array<[string, string | undefined]> = [
    ['file:///workspace/../etc/passwd', 'file:///etc/passwd'],
    ['file:///workspace/./a//b.txt', 'file:///workspace/a/b.txt'],
    ['file:////etc/passwd', 'file:///etc/passwd'],
    ['file:///workspace/%2e%2e/etc/passwd', 'file:///etc/passwd'],
    ['file:///workspace/..%2Fetc/passwd', 'file:///etc/passwd'],
    ['file:///../../etc', 'file:///etc'],
    ['file:///workspace/a/..', 'file:///workspace/'],
    ['FILE:///Workspace/A', 'file:///Workspace/A'],
    ['https://Example.COM/a/../b?x=../y#f', 'https://example.com/b?x=../y#f'],
    ['demo://resource/static/document/architecture.md', 'demo://resource/static/document/architecture.md'],
    ['file:///a%20b', 'file:///a%20b'],
    ['file:///a%7e', 'file:///a~'],
    ['urn:isbn:0451450523', 'urn:isbn:0451450523'],
    ['/etc/passwd', undefined],
    ['relative/path', undefined],
    ['file:///a b', undefined],
    ['file:///a\\..\\b', undefined],
    ['file:///a%zz', undefined],
    ['file:///workspace/..%5c..%5cetc/passwd', undefined], // decoded, a backslash may be a separator
    ['file:///workspace/..%5C..%5Cetc/passwd', undefined],
    ['file:///etc/passwd%00/../../workspace/x', undefined], // decoded, a NUL may end the path
    ['file:///a%0ab', undefined],
    ['file:///a%7f', undefined],
    ['1http://x', undefined],
    ['', undefined],
  ];
  for (const [uri, expected] of table) {
    it(`${JSON.stringify(uri)} → ${JSON.stringify(expected)}`, () => assert.equal(normalizeUri(uri), expected));
  }
});

describe('resources rule', () => {
  const workspace: ResourcesRule = { id: 'r', resources: { allow: ['file:///workspace/*'], deny: ['file:///workspace/.git/*'] } };
  const [rule] = createResourcesRules(workspace, { mode: 'enforce' });

  it('is one request rule on every method that names a resource (read, subscribe, unsubscribe)', () => {
    assert.deepEqual([rule!.kind, rule!.direction, rule!.phase, rule!.methods], ['resources', 'client-to-server', 'request', ['resources/read', 'resources/subscribe', 'resources/unsubscribe']]);
  });

  const table: Array<[unknown, string | undefined, string | undefined]> = [
    ['file:///workspace/src/a.ts', undefined, undefined],
    ['file:///workspace//src/./a.ts', undefined, undefined],
    ['file:///workspace/../etc/passwd', 'resource_not_allowed', 'forbidden'],
    ['file:///workspace/src/../../etc/passwd', 'resource_not_allowed', 'forbidden'],
    ['file:///workspace/%2e%2e/etc/passwd', 'resource_not_allowed', 'forbidden'],
    ['file:///workspace2/a', 'resource_not_allowed', 'forbidden'],
    ['file:///workspace/.git/config', 'resource_not_allowed', 'forbidden'],
    ['file:///workspace/x/../.git/config', 'resource_not_allowed', 'forbidden'],
    ['/workspace/a', 'invalid_uri', 'user_error'],
    ['file:///workspace/a b', 'invalid_uri', 'user_error'],
    [42, 'invalid_params', 'user_error'],
    [undefined, 'invalid_params', 'user_error'],
  ];
  // A subscription watches what a read would see: the same URI gets the same verdict.
  for (const method of ['resources/read', 'resources/subscribe']) {
    for (const [uri, reason, category] of table) {
      it(`${method}: ${reason ? `denies (${reason})` : 'passes'} ${JSON.stringify(uri)}`, () => {
        const verdict = rule!.evaluate(frameContext(request(method)(uri)));
        if (reason === undefined) return assert.deepEqual(verdict, { effect: 'continue' });
        assert.ok(verdict.effect === 'deny', JSON.stringify(verdict));
        assert.equal(verdict.reason, reason);
        assert.equal(verdict.category, category);
        if (reason === 'invalid_params') assert.equal(verdict.message, `${method} needs params.uri, a string`);
      });
    }
  }

  it('with deny only, an unparsable URI is denied too: as written it says nothing of where the server goes', () => {
    const [denyOnly] = createResourcesRules({ id: 'd', resources: { deny: ['file:///etc/*'] } }, { mode: 'enforce' });
    for (const uri of ['not a uri', 'file:///public\\..\\etc\\passwd', 'file:///public/..%5c..%5cetc/passwd', 'file:///etc/passwd%00/../../public/x']) {
      const verdict = denyOnly!.evaluate(frameContext(read(uri)));
      assert.ok(verdict.effect === 'deny', uri);
      assert.deepEqual([verdict.reason, verdict.category], ['invalid_uri', 'user_error']);
    }
    assert.equal(denyOnly!.evaluate(frameContext(read('file:///public/a%20b.txt'))).effect, 'continue');
    const traversal = denyOnly!.evaluate(frameContext(read('file:///tmp/../etc/shadow')));
    assert.ok(traversal.effect === 'deny');
    assert.equal(traversal.reason, 'resource_not_allowed');
  });

  it('an escaped backslash does not climb out of the workspace unseen', () => {
    const verdict = rule!.evaluate(frameContext(read('file:///workspace/..%5c..%5cetc/passwd')));
    assert.ok(verdict.effect === 'deny');
    assert.equal(verdict.reason, 'invalid_uri');
  });
});
