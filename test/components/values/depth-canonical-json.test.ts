// Canonical JSON keeps its own stack: a value nested far deeper than a call per level would
// survive (V8's default stack ends a recursive walk near 4,000 levels) is written, not a RangeError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argumentsDigest, sha256Digest } from '../../../components/execution-report/index.js';
import { canonicalJson } from '../../../components/values/index.js';

/** `depth` arrays around `leaf`. */
function nestedArrays(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** `depth` objects `{"z":…,"a":i}` (keys out of order: the writer, not JSON.stringify, must write them). */
function nestedObjects(depth: number): { value: unknown; text: string } {
  let value: unknown = 'leaf';
  let text = '"leaf"';
  for (let i = 0; i < depth; i++) {
    value = { z: value, a: i };
    text = `{"a":${i},"z":${text}}`;
  }
  return { value, text };
}

describe('canonicalJson on deep values', () => {
  for (const depth of [511, 512, 513, 4_095, 100_000]) {
    it(`writes ${depth} nested arrays`, () => {
      assert.equal(canonicalJson(nestedArrays(depth, 1)), `${'['.repeat(depth)}1${']'.repeat(depth)}`);
    });
  }

  it('writes 100,000 nested objects with their keys sorted at every level', () => {
    // Built from the inside out, so the expected text is only checked at a depth a string of it is cheap.
    for (const depth of [3, 600, 20_000]) {
      const { value, text } = nestedObjects(depth);
      assert.equal(canonicalJson(value), text);
    }
    const deep = nestedObjects(100_000).value;
    assert.match(canonicalJson(deep), /^\{"a":99999,"z":\{"a":99998,"z":/);
  });

  it('names what JSON cannot carry, however deep it is', () => {
    assert.throws(() => canonicalJson(nestedArrays(10_000, Number.POSITIVE_INFINITY)), (error: unknown) => error instanceof TypeError
      && error.message === `canonicalJson: $${'[0]'.repeat(10_000)} is Infinity, which JSON cannot represent`);
    assert.throws(() => canonicalJson({ b: nestedArrays(5_000, 1), a: [1, undefined] }), /\$\.a\[1\] is undefined/, 'in the order the writer meets it');
  });

  it('a call that threw leaves nothing behind: the next value is written whole', () => {
    assert.throws(() => canonicalJson({ a: { b: [1, { c: () => 0 }] } }), TypeError);
    assert.equal(canonicalJson({ y: [2, { x: 1 }], b: 'c' }), '{"b":"c","y":[2,{"x":1}]}');
  });

  it('the arguments digest of a value 100,000 deep is the digest of its canonical text', () => {
    const value = nestedArrays(100_000, 'x');
    assert.equal(argumentsDigest(value), sha256Digest(`${'['.repeat(100_000)}"x"${']'.repeat(100_000)}`));
  });
});
