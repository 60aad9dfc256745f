import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob, compileGlobs } from '../../../../components/policy/engine/glob.js';

describe('compileGlob', () => {
  const table: Array<[string, string, boolean]> = [
    ['tools/*', 'tools/call', true],
    ['tools/*', 'tools/', true],
    ['tools/*', 'tool/call', false],
    ['notifications/*', 'notifications/tools/list_changed', true],
    ['*', 'anything/at/all', true],
    ['ping', 'ping', true],
    ['ping', 'pings', false],
    ['read_*', 'read_file', true],
    ['read_*', 'unread_file', false],
    ['*_file', 'read_file', true],
    ['*/list', 'resources/templates/list', true],
    ['file:///workspace/*', 'file:///workspace/a/b.txt', true],
    ['file:///workspace/*', 'file:///etc/passwd', false],
    ['get-?um', 'get-sum', true],
    ['get-?um', 'get-um', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['*a*a*a*a*a*b', 'a'.repeat(5000), false],
  ];
  for (const [pattern, text, expected] of table) {
    it(`should ${expected ? '' : 'not '}match ${JSON.stringify(text.slice(0, 40))} with ${pattern}`, () => {
      assert.equal(compileGlob(pattern)(text), expected);
    });
  }

  it('should match any of several globs', () => {
    const match = compileGlobs(['initialize', 'tools/*']);
    assert.deepEqual(['initialize', 'tools/list', 'sampling/createMessage'].map(match), [true, true, false]);
  });
});
