import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../components/policy/document/index.js';

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
