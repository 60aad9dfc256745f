import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob, compileGlobs, matchGlob } from '../../../../components/policy/engine/glob.js';
import { seededRandom } from '../../../helpers/seeded-random.js';

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

describe('compileGlobs fast paths (exact names, prefix globs, `*`)', () => {
  // Small alphabets so that generated names and globs often meet: every branch of the compiled
  // matcher (Set lookup, startsWith, wildcard match, a `*` among others) is pinned to matchGlob.
  const ALPHABET = ['a', 'b', '/', '_'];
  const GLOB_ALPHABET = [...ALPHABET, '*', '?'];

  function generate(random: () => number, alphabet: readonly string[], maxLength: number): string {
    let text = '';
    const length = Math.floor(random() * (maxLength + 1));
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    return text;
  }

  function generateGlob(random: () => number): string {
    const shape = random();
    if (shape < 0.3) return generate(random, ALPHABET, 4); // an exact name
    if (shape < 0.6) return `${generate(random, ALPHABET, 3)}*`; // a prefix glob
    if (shape < 0.65) return '*';
    return generate(random, GLOB_ALPHABET, 5);
  }

  it('should match exactly when any glob matches, by matchGlob, over generated globs and names', () => {
    const random = seededRandom(0x6c0b5);
    for (let round = 0; round < 2000; round++) {
      const globs = Array.from({ length: Math.floor(random() * 5) }, () => generateGlob(random));
      const match = compileGlobs(globs);
      for (let k = 0; k < 20; k++) {
        const text = generate(random, ALPHABET, 6);
        const expected = globs.some((glob) => matchGlob(glob, text));
        assert.equal(match(text), expected, `globs ${JSON.stringify(globs)} on ${JSON.stringify(text)} (round ${round})`);
        assert.equal(compileGlob(globs[0] ?? 'x')(text), matchGlob(globs[0] ?? 'x', text), `glob ${JSON.stringify(globs[0])} on ${JSON.stringify(text)}`);
      }
    }
  });

  it('should match nothing with no globs, and everything with `*` among others', () => {
    assert.equal(compileGlobs([])('tools/call'), false);
    assert.equal(compileGlobs(['ping', '*', 'read_*'])('anything/at/all'), true);
    assert.equal(compileGlobs(['ping', '*', 'read_*'])(''), true);
  });

  it('should not take a prefix glob with a `?` or a second `*` for a plain prefix', () => {
    const match = compileGlobs(['ping', 're?d_*', 'a*b*']);
    assert.deepEqual(['read_x', 'rexd_', 're?d_x', 'aXb', 'aXbY', 'a*', 'ping'].map(match), [true, true, true, true, true, false, true]);
  });
});
