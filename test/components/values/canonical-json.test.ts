import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../components/values/index.js';
import { seededRandom } from '../../helpers/seeded-random.js';

describe('canonicalJson', () => {
  it('should sort object keys and write no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: 2, c: { z: true, y: null } }), '{"a":2,"b":1,"c":{"y":null,"z":true}}');
  });

  it('should give the same text whatever order the keys were written in', () => {
    assert.equal(canonicalJson({ x: [1, { q: 1, p: 2 }], w: 'v' }), canonicalJson({ w: 'v', x: [1, { p: 2, q: 1 }] }));
  });

  it('should sort nested objects at every depth, inside arrays too', () => {
    assert.equal(canonicalJson({ outer: { inner: { b: [{ d: 1, c: 2 }], a: 0 } } }), '{"outer":{"inner":{"a":0,"b":[{"c":2,"d":1}]}}}');
  });

  it('should keep array order', () => {
    assert.equal(canonicalJson([3, 1, 2, 'b', 'a']), '[3,1,2,"b","a"]');
  });

  it('should write numbers the ECMAScript way (RFC 8785 §3.2.2.3)', () => {
    assert.equal(canonicalJson(1.0), '1');
    assert.equal(canonicalJson(-0), '0');
    assert.equal(canonicalJson(1e21), '1e+21');
    assert.equal(canonicalJson(1e-7), '1e-7');
    assert.equal(canonicalJson(0.1), '0.1');
    assert.equal(canonicalJson(333333333.33333329), '333333333.3333333');
    assert.equal(canonicalJson(Number.MAX_SAFE_INTEGER), '9007199254740991');
  });

  it('should sort keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    assert.equal(
      canonicalJson(value),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
        + '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('should write unicode strings as themselves and escape only what JSON must', () => {
    assert.equal(canonicalJson({ s: 'é€😀\u0080' }), '{"s":"é€😀\u0080"}');
    assert.equal(canonicalJson('a"b\\c\n\u0001'), '"a\\"b\\\\c\\n\\u0001"');
  });

  it('should skip undefined properties and refuse values JSON cannot carry', () => {
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
    assert.throws(() => canonicalJson({ n: Number.NaN }), /\$\.n is NaN/);
    assert.throws(() => canonicalJson([1, Infinity]), /\$\[1\] is Infinity/);
    assert.throws(() => canonicalJson([undefined]), /\$\[0\] is undefined/);
    assert.throws(() => canonicalJson({ big: 1n }), /\$\.big is a bigint/);
  });
});

// canonicalJson writes a value whose keys are already in order with JSON.stringify: the same
// bytes, by construction; here checked against the definition on random values, each also
// written with its keys in another order (which takes the walk).
describe('canonicalJson, with keys already in order and not', () => {
  const STRINGS = ['', 'a', 'plain text', 'é€😀\u0080', '\ud83d', '\ude00x', '"quoted"', 'back\\slash', 'line\nbreak\ttab\r', '\u0000\u001f\u007f', '\u2028\u2029', '</script>', '\ufeff', 'A'.repeat(300)];
  const NUMBERS = [0, -0, 1, -1, 1.5, 0.1, 1e21, 1e-7, -1e21, 1e300, -1.5e-300, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, 333333333.33333329, 2 ** 53 + 2];
  const KEYS = ['', 'a', 'b', 'B', 'aa', 'é', '\u20ac', '\ud83d\ude00', '\ufb33', '\r', '"', '\\', '0', '1', '9', '10', '01', '-1', 'toString', 'constructor'];

  /** The definition (RFC 8785): keys sorted by UTF-16 code units at every depth, JSON.stringify's numbers and strings. */
  const reference = (value: unknown): string => {
    if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
    if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value).filter(([, member]) => member !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${reference(member)}`).join(',')}}`;
    }
    return JSON.stringify(value);
  };
  /** Whether every object's keys, as Object.keys lists them, are in ascending order (the fast path's condition). */
  const inOrder = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.every(inOrder);
    if (typeof value !== 'object' || value === null) return true;
    const keys = Object.keys(value);
    return keys.every((key, i) => i === 0 || keys[i - 1]! < key) && Object.values(value).every(inOrder);
  };

  const next = seededRandom(8785);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const randomString = (): string => {
    if (next() < 0.6) return pick(STRINGS);
    let text = '';
    for (let n = Math.floor(next() * 12); n > 0; n--) text += String.fromCharCode(next() < 0.7 ? 32 + Math.floor(next() * 95) : Math.floor(next() * 0x10000));
    return text;
  };
  /** A random JSON value; objects get their keys in ascending order (`sorted`) or shuffled. */
  const randomValue = (depth: number, sorted: boolean): unknown => {
    const roll = next();
    if (depth > 3 || roll < 0.35) {
      const leaf = next();
      if (leaf < 0.4) return randomString();
      if (leaf < 0.75) return next() < 0.5 ? pick(NUMBERS) : (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
      return leaf < 0.9 ? next() < 0.5 : null;
    }
    if (roll < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(depth + 1, sorted));
    const keys = [...new Set(Array.from({ length: Math.floor(next() * 5) }, () => pick(KEYS)))];
    if (sorted) keys.sort();
    else keys.sort(() => next() - 0.5);
    const object: Record<string, unknown> = {};
    for (const key of keys) object[key] = next() < 0.1 ? undefined : randomValue(depth + 1, sorted);
    return object;
  };
  /** The same value with every object's keys inserted in reverse order. */
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).reverse().map(([key, member]) => [key, reversed(member)]));
  };

  it('should write the same bytes as the definition on random values, keys in order or not', () => {
    let fast = 0;
    let walked = 0;
    for (let n = 0; n < 3000; n++) {
      const value = randomValue(0, next() < 0.6);
      const expected = reference(value);
      assert.equal(canonicalJson(value), expected, JSON.stringify(value));
      assert.equal(canonicalJson(reversed(value)), expected, JSON.stringify(value));
      if (inOrder(value)) {
        fast++;
        assert.equal(JSON.stringify(value), expected, JSON.stringify(value));
      } else {
        walked++;
      }
    }
    assert.ok(fast > 1000 && walked > 500, `both paths taken (${fast} in order, ${walked} not)`);
  });

  it('should not take JSON.stringify\'s word for what it writes differently', () => {
    assert.equal(canonicalJson({ b: 1, a: 2, '10': 3, '9': 4 }), '{"10":3,"9":4,"a":2,"b":1}'); // integer keys come first in Object.keys
    assert.equal(canonicalJson({ at: new Date(0) }), '{"at":{}}');
    assert.equal(canonicalJson([new Number(1), new String('s'), new Boolean(false)]), '[{},{"0":"s"},{}]');
    assert.equal(canonicalJson(Object.assign(Object.create(null) as object, { a: 1 })), '{"a":1}');
    assert.throws(() => canonicalJson({ a: { toJSON: () => 'x', z: 1 } }), /\$\.a\.toJSON is a function/);
    const withToJson = [1, 2];
    Object.defineProperty(withToJson, 'toJSON', { value: () => 'x' });
    assert.equal(canonicalJson(withToJson), '[1,2]');
    assert.throws(() => canonicalJson([1, undefined]), /\$\[1\] is undefined/);
    // eslint-disable-next-line no-sparse-arrays
    assert.throws(() => canonicalJson([1, , 3]), /\$\[1\] is undefined/);
    assert.throws(() => canonicalJson({ a: -Infinity }), /\$\.a is -Infinity/);
  });
});
