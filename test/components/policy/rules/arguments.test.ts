import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArgumentsRule } from '../../../../components/policy/document/document.js';
import type { Verdict } from '../../../../components/policy/engine/types.js';
import { createArgumentsRules } from '../../../../components/policy/rules/arguments.js';
import { normalizePosixPath } from '../../../../components/policy/rules/normalize.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { assertRejected, policyWithRule } from '../rejections.js';

function ruleOf(args: Partial<ArgumentsRule['arguments']>) {
  const [rule, ...rest] = createArgumentsRules({ id: 'args', arguments: { tool: '*', reply: 'tool-error', ...args } }, { mode: 'enforce' });
  assert.equal(rest.length, 0);
  return rule!;
}

function check(args: Partial<ArgumentsRule['arguments']>, callArguments: unknown, name = 'read_file'): Verdict {
  return ruleOf(args).evaluate(frameContext(toolCall(name, callArguments)));
}

/** Asserts a deny with argument_invalid whose message matches, and that the value is not quoted in it. */
function assertInvalid(verdict: Verdict, message: RegExp, value?: string): void {
  assert.ok(verdict.effect === 'deny', JSON.stringify(verdict));
  assert.equal(verdict.reason, 'argument_invalid');
  assert.equal(verdict.category, 'user_error');
  assert.equal(verdict.reply, 'tool-error');
  assert.match(verdict.message, message);
  if (value !== undefined) assert.ok(!verdict.message.includes(value), `the message leaks the value: ${verdict.message}`);
}

describe('normalizePosixPath', () => {
  const table: Array<[string, string]> = [
    ['/workspace/../etc/passwd', '/etc/passwd'],
    ['/workspace//../x', '/x'],
    ['/workspace//a/./b/', '/workspace/a/b'],
    ['/../../etc', '/etc'],
    ['a/../../x', '../x'],
    ['./a//b', 'a/b'],
    ['', '.'],
    ['/', '/'],
  ];
  for (const [path, expected] of table) it(`${JSON.stringify(path)} → ${expected}`, () => assert.equal(normalizePosixPath(path), expected));
});

describe('arguments rule', () => {
  it('is one request rule on tools/call that only looks at the tools its glob matches', () => {
    const rule = ruleOf({ tool: 'read_*', required: ['/path'] });
    assert.deepEqual([rule.kind, rule.direction, rule.phase, rule.methods], ['arguments', 'client-to-server', 'request', ['tools/call']]);
    assert.deepEqual(rule.evaluate(frameContext(toolCall('write_file', {}))), { effect: 'continue' });
    assertInvalid(rule.evaluate(frameContext(toolCall('read_file', {}))), /^argument \/path is required$/);
  });

  it('denies a call whose tool name it cannot read: it cannot tell whether it governs it', () => {
    const rule = ruleOf({ tool: 'read_*', required: ['/path'] });
    for (const message of [toolCall(7, {}), toolCall(undefined, { path: '/x' }), { jsonrpc: '2.0', id: 1, method: 'tools/call' }, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['read_file'] }]) {
      const verdict = rule.evaluate(frameContext(message));
      assert.ok(verdict.effect === 'deny', JSON.stringify(message));
      assert.deepEqual([verdict.reason, verdict.category, verdict.reply, verdict.message], ['invalid_params', 'user_error', undefined, 'tools/call needs params.name, a string']);
    }
  });

  const workspace = { properties: { '/path': { type: 'string' as const, pathPrefix: '/workspace/' } } };
  const paths: Array<[string, string, boolean]> = [
    ['inside', '/workspace/src/a.ts', true],
    ['the prefix itself', '/workspace', true],
    ['the prefix with its slash', '/workspace/', true],
    ['inside after a harmless ..', '/workspace/a/../b', true],
    ['inside after //', '/workspace//a', true],
    ['climbing out with ..', '/workspace/../etc/passwd', false],
    ['climbing out after //', '/workspace//../x', false],
    ['a sibling sharing the prefix', '/workspace2/a', false],
    ['a relative path', 'workspace/a', false],
    ['the root', '/', false],
    ['climbing far', '/workspace/a/b/../../../etc', false],
  ];
  for (const [label, path, ok] of paths) {
    it(`pathPrefix: ${ok ? 'passes' : 'denies'} ${label} (${path})`, () => {
      const verdict = check(workspace, { path });
      if (ok) assert.deepEqual(verdict, { effect: 'continue' });
      else assertInvalid(verdict, /^argument \/path must be a path under \/workspace\/$/, path.length > 1 ? path : undefined);
    });
  }

  it('pathPrefix: relative prefixes stay relative, and a NUL byte is refused', () => {
    const relative = { properties: { '/p': { pathPrefix: 'data/' } } };
    assert.deepEqual(check(relative, { p: 'data/x.csv' }), { effect: 'continue' });
    assertInvalid(check(relative, { p: 'data/../../x' }), /must be a path under data\//);
    assertInvalid(check(relative, { p: '/data/x' }), /must be a path under data\//);
    assertInvalid(check(workspace, { path: '/workspace/a\u0000/../../etc' }), /must not contain a NUL character/);
    assertInvalid(check(workspace, { path: ['/workspace/a'] }), /argument \/path must be of type string, got array/);
    assertInvalid(check({ properties: { '/p': { pathPrefix: '/w' } } }, { p: 5 }), /argument \/p must be a path string, got number/);
  });

  const table: Array<[string, Partial<ArgumentsRule['arguments']>, unknown, RegExp | undefined]> = [
    ['type string ok', { properties: { '/s': { type: 'string' } } }, { s: 'x' }, undefined],
    ['type string wrong', { properties: { '/s': { type: 'string' } } }, { s: 1 }, /^argument \/s must be of type string, got number$/],
    ['integer accepts 3', { properties: { '/n': { type: 'integer' } } }, { n: 3 }, undefined],
    ['integer accepts 3.0 (JSON has one number type)', { properties: { '/n': { type: 'integer' } } }, { n: 3.0 }, undefined],
    ['integer refuses 3.5', { properties: { '/n': { type: 'integer' } } }, { n: 3.5 }, /must be of type integer, got number/],
    ['number accepts 3.5', { properties: { '/n': { type: 'number' } } }, { n: 3.5 }, undefined],
    ['number refuses "3"', { properties: { '/n': { type: 'number' } } }, { n: '3' }, /must be of type number, got string/],
    ['object refuses an array', { properties: { '/o': { type: 'object' } } }, { o: [] }, /must be of type object, got array/],
    ['array accepts an array', { properties: { '/o': { type: 'array' } } }, { o: [] }, undefined],
    ['null accepts null', { properties: { '/o': { type: 'null' } } }, { o: null }, undefined],
    ['boolean refuses null', { properties: { '/o': { type: 'boolean' } } }, { o: null }, /must be of type boolean, got null/],
    ['enum of strings', { properties: { '/m': { enum: ['r', 'w'] } } }, { m: 'r' }, undefined],
    ['enum of strings, outside', { properties: { '/m': { enum: ['r', 'w'] } } }, { m: 'x' }, /^argument \/m is not one of the 2 allowed values$/],
    ['enum of objects, deep equal in any key order', { properties: { '/o': { enum: [{ a: 1, b: [1, { c: 2 }] }, null] } } }, { o: { b: [1, { c: 2 }], a: 1 } }, undefined],
    ['enum of objects, one extra key', { properties: { '/o': { enum: [{ a: 1 }] } } }, { o: { a: 1, b: 2 } }, /is not one of the 1 allowed values/],
    ['enum of objects, different nested value', { properties: { '/o': { enum: [{ a: [1, 2] }] } } }, { o: { a: [1, 3] } }, /is not one of/],
    ['enum: 1 is not "1"', { properties: { '/o': { enum: [1] } } }, { o: '1' }, /is not one of/],
    ['enum: an array is not an object', { properties: { '/o': { enum: [{ 0: 'a' }] } } }, { o: ['a'] }, /is not one of/],
    ['pattern matches (unanchored)', { properties: { '/s': { pattern: '[0-9]{3}' } } }, { s: 'id-123' }, undefined],
    ['pattern anchored', { properties: { '/s': { pattern: '^[a-z]+$' } } }, { s: 'abc1' }, /^argument \/s does not match the required pattern$/],
    ['pattern on a number', { properties: { '/s': { pattern: '^[0-9]+$' } } }, { s: 123 }, /must be a string to match the pattern, got number/],
    ['maxLength in code points', { properties: { '/s': { maxLength: 3 } } }, { s: '😀😀😀' }, undefined],
    ['maxLength over', { properties: { '/s': { maxLength: 3 } } }, { s: '😀😀😀😀' }, /^argument \/s is longer than 3 characters$/],
    ['minimum inclusive', { properties: { '/n': { minimum: 1, maximum: 10 } } }, { n: 1 }, undefined],
    ['maximum inclusive', { properties: { '/n': { minimum: 1, maximum: 10 } } }, { n: 10 }, undefined],
    ['below minimum', { properties: { '/n': { minimum: 1 } } }, { n: 0.5 }, /^argument \/n is below the minimum 1$/],
    ['above maximum', { properties: { '/n': { maximum: 10 } } }, { n: 11 }, /^argument \/n is above the maximum 10$/],
    ['maximum on a string', { properties: { '/n': { maximum: 10 } } }, { n: '5' }, /must be a number to compare with the maximum, got string/],
    ['a ~1 pointer', { properties: { '/a~1b': { type: 'string' } } }, { 'a/b': 1 }, /^argument \/a~1b must be of type string, got number$/],
    ['a ~0 pointer', { properties: { '/a~0b': { type: 'string' } } }, { 'a~b': 'x' }, undefined],
    ['a nested pointer', { properties: { '/options/depth': { type: 'integer', maximum: 3 } } }, { options: { depth: 4 } }, /^argument \/options\/depth is above the maximum 3$/],
    ['an array element', { properties: { '/files/0': { pathPrefix: '/w/' } } }, { files: ['/etc/x'] }, /argument \/files\/0 must be a path under \/w\//],
    ['an absent property is not checked', { properties: { '/path': { type: 'string', pathPrefix: '/w/' } } }, {}, undefined],
    ['an empty constraint checks nothing', { properties: { '/s': {} } }, { s: 1 }, undefined],
    ['absent arguments: nothing to check', { properties: { '/path': { type: 'string' } } }, undefined, undefined],
    ['required present', { required: ['/path'] }, { path: 'x' }, undefined],
    ['required present as null', { required: ['/path'] }, { path: null }, undefined],
    ['required absent', { required: ['/path', '/mode'] }, { path: 'x' }, /^argument \/mode is required$/],
    ['required absent with absent arguments', { required: ['/path'] }, undefined, /^argument \/path is required$/],
    ['forbidden absent', { forbidden: ['/recursive'] }, { path: 'x' }, undefined],
    ['forbidden present', { forbidden: ['/recursive'] }, { recursive: false }, /^argument \/recursive is forbidden$/],
    ['arguments not an object', { required: ['/path'] }, 'path', /^arguments must be an object, got string$/],
    ['every problem is named', { required: ['/a'], forbidden: ['/b'], properties: { '/c': { type: 'string' } } }, { b: 1, c: 2 }, /^argument \/b is forbidden; argument \/a is required; argument \/c must be of type string, got number$/],
  ];
  for (const [label, args, callArguments, message] of table) {
    it(`${message ? 'denies' : 'passes'}: ${label}`, () => {
      const verdict = check(args, callArguments);
      if (message === undefined) assert.deepEqual(verdict, { effect: 'continue' });
      else assertInvalid(verdict, message);
    });
  }

  // The Python SDK decodes a JSON-text string before validating: the server sees depth 99 and
  // root "/", where the rule, walking into a string, used to find /options/depth "absent".
  const jsonText = { properties: { '/options/depth': { type: 'integer' as const, maximum: 3 }, '/options/root': { type: 'string' as const, pathPrefix: '/workspace/' } } };
  it('denies arguments given as JSON text where the pointer needs an object (maximum and pathPrefix are not skipped)', () => {
    const text = '{"depth":99,"root":"/"}';
    const verdict = check(jsonText, { options: text });
    assertInvalid(verdict, /^argument \/options\/depth cannot be resolved: \/options is a string, not an object or array; argument \/options\/root cannot be resolved: \/options is a string, not an object or array$/);
    assert.ok(verdict.effect === 'deny' && !verdict.message.includes('99') && !verdict.message.includes(text));
    // The same values as an object are checked, and refused on their merits.
    assertInvalid(check(jsonText, { options: { depth: 99, root: '/' } }), /^argument \/options\/depth is above the maximum 3; argument \/options\/root must be a path under \/workspace\/$/);
    assert.deepEqual(check(jsonText, { options: { depth: 2, root: '/workspace/a' } }), { effect: 'continue' });
    assert.deepEqual(check(jsonText, { options: {} }), { effect: 'continue' }, 'absent members of an object that exists: nothing to check');
    assert.deepEqual(check(jsonText, {}), { effect: 'continue' }, 'no options at all: absent');
  });

  const unresolvable: Array<[string, Partial<ArgumentsRule['arguments']>, unknown, RegExp]> = [
    ['a number where an object is needed', jsonText, { options: 7 }, /^argument \/options\/depth cannot be resolved: \/options is a number, not an object or array;/],
    ['a boolean', jsonText, { options: true }, /\/options is a boolean, not an object or array/],
    ['null', jsonText, { options: null }, /\/options is null, not an object or array/],
    ['an array where the token is not an index', jsonText, { options: [{ depth: 99 }] }, /\/options is an array and "depth" is not an array index/],
    ['"-" on an array', { properties: { '/files/-': { pathPrefix: '/w/' } } }, { files: ['/w/a'] }, /\/files is an array and "-" is not an array index/],
    ['a leading zero on an array', { forbidden: ['/files/01'] }, { files: ['a', 'b'] }, /^argument \/files\/01 cannot be resolved: \/files is an array and "01" is not an array index$/],
    ['a JSON-text array', { properties: { '/files/0': { pathPrefix: '/w/' } } }, { files: '["/etc/passwd"]' }, /\/files is a string, not an object or array/],
    ['a forbidden member inside JSON text', { forbidden: ['/options/raw'] }, { options: '{"raw":true}' }, /^argument \/options\/raw cannot be resolved/],
    ['a required member inside JSON text', { required: ['/options/depth'] }, { options: '{"depth":1}' }, /^argument \/options\/depth cannot be resolved/],
    ['Depth for depth', jsonText, { options: { Depth: 99 } }, /^argument \/options\/depth is ambiguous: \/options has no member "depth" but one equal to it ignoring case$/],
    ['DEPTH for depth', jsonText, { options: { DEPTH: 99 } }, /is ambiguous/],
    ['Options for options', jsonText, { Options: { depth: 99 } }, /^argument \/options\/depth is ambiguous: the arguments object has no member "options"/],
    ['ſ (U+017F) for s', { properties: { '/mask': { maxLength: 3 } } }, { 'ma\u017fk': 'x'.repeat(10) }, /^argument \/mask is ambiguous/],
    ['K (U+212A) for k', { properties: { '/kind': { enum: ['file'] } } }, { '\u212aind': 'dir' }, /^argument \/kind is ambiguous/],
    ['a case-folded forbidden member', { forbidden: ['/raw'] }, { RAW: true }, /^argument \/raw is ambiguous/],
    ['a case-folded required member', { required: ['/path'] }, { Path: '/etc/passwd' }, /^argument \/path is ambiguous/],
  ];
  for (const [label, args, callArguments, message] of unresolvable) {
    it(`denies what it cannot resolve: ${label}`, () => assertInvalid(check(args, callArguments), message));
  }

  // `*`: each element of an array. Every element must pass; the message names the first that
  // does not by its index; anything but an array at the `*` cannot be resolved (denied).
  const eachPath = { properties: { '/paths/*': { type: 'string' as const, pathPrefix: '/w/' } } };
  const each: Array<[string, Partial<ArgumentsRule['arguments']>, unknown, RegExp | undefined]> = [
    ['every element under the prefix', eachPath, { paths: ['/w/a', '/w/b/../c'] }, undefined],
    ['an empty array: no element to refuse', eachPath, { paths: [] }, undefined],
    ['no array at all: absent, nothing to check', eachPath, {}, undefined],
    ['the second element outside, named by its index', eachPath, { paths: ['/w/a', '/etc/passwd', '/etc/shadow'] }, /^argument \/paths\/1 must be a path under \/w\/$/],
    ['an element that is not a string', eachPath, { paths: ['/w/a', 7] }, /^argument \/paths\/1 must be of type string, got number$/],
    ['a string where the array should be', eachPath, { paths: '/w/a' }, /^argument \/paths\/\* cannot be resolved: \/paths is a string, not an array$/],
    ['JSON text of an array', eachPath, { paths: '["/etc/passwd"]' }, /^argument \/paths\/\* cannot be resolved: \/paths is a string, not an array$/],
    ['an object where the array should be (its "0" is not an element)', eachPath, { paths: { 0: '/w/a' } }, /^argument \/paths\/\* cannot be resolved: \/paths is an object, not an array$/],
    ['null where the array should be', eachPath, { paths: null }, /\/paths is null, not an array$/],
    ['Paths for paths', eachPath, { Paths: ['/etc/passwd'] }, /^argument \/paths\/\* is ambiguous: the arguments object has no member "paths" but one equal to it ignoring case$/],
    ['a member of each element', { properties: { '/edits/*/path': { pathPrefix: '/w/' } } }, { edits: [{ path: '/w/a' }, { text: 'x' }, { path: '/etc/x' }] }, /^argument \/edits\/2\/path must be a path under \/w\/$/],
    ['an element that is not an object', { properties: { '/edits/*/path': { pathPrefix: '/w/' } } }, { edits: [{ path: '/w/a' }, '/etc/x'] }, /^argument \/edits\/1\/path cannot be resolved: \/edits\/1 is a string, not an object or array$/],
    ['a case-folded member of an element', { properties: { '/edits/*/path': { pathPrefix: '/w/' } } }, { edits: [{ PATH: '/etc/x' }] }, /^argument \/edits\/0\/path is ambiguous: \/edits\/0 has no member "path"/],
    ['nested arrays', { properties: { '/grid/*/*': { maximum: 9 } } }, { grid: [[1, 2], [], [3, 10]] }, /^argument \/grid\/2\/1 is above the maximum 9$/],
    ['required: each element has it', { required: ['/edits/*/path'] }, { edits: [{ path: 'a' }, { path: null }] }, undefined],
    ['required: one element lacks it', { required: ['/edits/*/path'] }, { edits: [{ path: 'a' }, {}] }, /^argument \/edits\/1\/path is required$/],
    ['required: no array at all', { required: ['/paths/*'] }, {}, /^argument \/paths\/\* is required$/],
    ['required: an empty array', { required: ['/paths/*'] }, { paths: [] }, undefined],
    ['forbidden: no element has it', { forbidden: ['/edits/*/raw'] }, { edits: [{}, { path: 'a' }] }, undefined],
    ['forbidden: one element has it', { forbidden: ['/edits/*/raw'] }, { edits: [{}, { raw: false }] }, /^argument \/edits\/1\/raw is forbidden$/],
    ['forbidden: inside JSON text', { forbidden: ['/edits/*/raw'] }, { edits: '[{"raw":true}]' }, /^argument \/edits\/\*\/raw cannot be resolved: \/edits is a string, not an array$/],
    ['with the array constrained too: both problems', { properties: { '/paths': { type: 'array' }, '/paths/*': { pathPrefix: '/w/' } } }, { paths: '/etc' }, /^argument \/paths must be of type array, got string; argument \/paths\/\* cannot be resolved: \/paths is a string, not an array$/],
  ];
  for (const [label, args, callArguments, message] of each) {
    it(`each element (*): ${message ? 'denies' : 'passes'} ${label}`, () => {
      const verdict = check(args, callArguments);
      if (message === undefined) assert.deepEqual(verdict, { effect: 'continue' });
      else assertInvalid(verdict, message, '/etc/passwd');
    });
  }

  it('each element (*): reports a pointer once, whichever lists it is in, and never a value', () => {
    const verdict = check({ required: ['/edits/*/path'], properties: { '/edits/*/path': { pathPrefix: '/w/' } } }, { edits: [{ path: '/w/a' }, 'sk-secret'] });
    assertInvalid(verdict, /^argument \/edits\/1\/path cannot be resolved: \/edits\/1 is a string, not an object or array$/, 'sk-secret');
  });

  it('each element (*): a wide array costs one pass, and nothing is allocated for a call that passes', () => {
    const paths = Array.from({ length: 10_000 }, (_, i) => `/w/${i}`);
    const rule = ruleOf(eachPath);
    assert.deepEqual(rule.evaluate(frameContext(toolCall('read_multiple_files', { paths }))), { effect: 'continue' });
    const verdict = rule.evaluate(frameContext(toolCall('read_multiple_files', { paths: [...paths, '/etc/passwd'] })));
    assertInvalid(verdict, /^argument \/paths\/10000 must be a path under \/w\/$/);
  });

  it('tells absent from unresolvable: past the end of an array is absent, ß is not ss', () => {
    assert.deepEqual(check({ properties: { '/files/3': { pathPrefix: '/w/' } } }, { files: ['/w/a'] }), { effect: 'continue' });
    assertInvalid(check({ required: ['/files/3'] }, { files: ['/w/a'] }), /^argument \/files\/3 is required$/);
    assert.deepEqual(check({ forbidden: ['/strasse'] }, { 'stra\u00dfe': 1 }), { effect: 'continue' }, 'ß → ss is full folding, not simple');
  });

  it('names a pointer it cannot resolve once, whichever lists it is in', () => {
    assertInvalid(check({ required: ['/path'], properties: { '/path': { type: 'string' } } }, { PATH: '/etc' }), /^argument \/path is ambiguous: [^;]+$/);
  });

  it('denies arguments it cannot find under their own name but under a case-folded one (Arguments)', () => {
    const rule = ruleOf({ properties: { '/path': { pathPrefix: '/workspace/' } } });
    const verdict = rule.evaluate(frameContext({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', Arguments: { path: '/etc/passwd' } } }));
    assertInvalid(verdict, /^arguments are ambiguous: params has no member "arguments" but one equal to it ignoring case$/);
  });

  it('never quotes the offending value in its message', () => {
    const secret = 'sk-live-0123456789abcdef';
    const specs: Array<Partial<ArgumentsRule['arguments']>> = [
      { properties: { '/v': { pattern: '^[0-9]+$' } } },
      { properties: { '/v': { enum: ['a'] } } },
      { properties: { '/v': { maxLength: 4 } } },
      { properties: { '/v': { pathPrefix: '/w/' } } },
      { properties: { '/v': { type: 'integer' } } },
      { forbidden: ['/v'] },
    ];
    for (const spec of specs) assertInvalid(check(spec, { v: secret }), /argument \/v/, secret);
  });

  it('takes reply from the spec', () => {
    const [rule] = createArgumentsRules({ id: 'a', arguments: { tool: 'x', required: ['/p'], reply: 'error' } }, { mode: 'enforce' });
    const verdict = rule!.evaluate(frameContext(toolCall('x', {})));
    assert.ok(verdict.effect === 'deny');
    assert.equal(verdict.reply, 'error');
  });

  it('a catastrophic-backtracking pattern runs in linear time under RE2: (a+)+$ against a×50000 + "!"', () => {
    const verdict = check({ properties: { '/s': { pattern: '^(a+)+$' } } }, { s: `${'a'.repeat(50_000)}!` });
    assertInvalid(verdict, /does not match the required pattern/);
    assert.deepEqual(check({ properties: { '/s': { pattern: '(a+)+$' } } }, { s: 'a'.repeat(50_000) }), { effect: 'continue' });
  });

  // Refused by the schema, at load, with the field's path (the factory compiles validated specs).
  const at = (field: string): string => `rules[0].arguments${field}`;
  const invalid: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a pattern RE2 does not support (backreference)', { properties: { '/s': { pattern: '(a)\\1' } } }, at('.properties["/s"].pattern'), /^expected a regular expression in RE2 syntax, found .*invalid escape/],
    ['a lookahead', { properties: { '/s': { pattern: '(?=a)' } } }, at('.properties["/s"].pattern'), /^expected a regular expression in RE2 syntax, found "\(\?=a\)"/],
    ['a bad pointer', { properties: { s: { type: 'string' } } }, at('.properties.s'), /^expected a JSON pointer .*, found "s"$/],
    ['a bad required pointer', { required: ['/a~9'] }, at('.required[0]'), /^expected a JSON pointer .*, found "\/a~9"$/],
    ['an unknown type', { properties: { '/s': { type: 'text' } } }, at('.properties["/s"].type'), /^expected one of: "string", "number", "integer", "boolean", "object", "array", "null", found "text"$/],
    ['an unknown constraint', { properties: { '/s': { maxlength: 3 } } }, at('.properties["/s"].maxlength'), /^unknown key "maxlength"/],
    ['minimum above maximum', { properties: { '/s': { minimum: 5, maximum: 1 } } }, at('.properties["/s"].maximum'), /^expected a maximum ≥ minimum \(5\), found the number 1$/],
    ['a negative maxLength', { properties: { '/s': { maxLength: -1 } } }, at('.properties["/s"].maxLength'), /^expected a whole number ≥ 0, found the number -1$/],
    ['an empty enum', { properties: { '/s': { enum: [] } } }, at('.properties["/s"].enum'), /^expected a non-empty list, found an empty list$/],
    ['nothing to check', {}, at(''), /^expected at least one of: properties \(with a pointer\), required, forbidden, found none$/],
    ['an empty properties and nothing else to check', { properties: {} }, at(''), /^expected at least one of: properties \(with a pointer\), required, forbidden, found properties with no pointer$/],
    ['no tool', { tool: '', required: ['/a'] }, at('.tool'), /^expected a non-empty string, found ""$/],
    ['a bad reply', { reply: 'silent', required: ['/a'] }, at('.reply'), /^expected one of: "error", "tool-error", found "silent"$/],
  ];
  for (const [label, args, path, message] of invalid) {
    it(`refuses ${label} at load`, () => assertRejected(policyWithRule({ id: 'bad', arguments: { tool: '*', ...args } }), path, message));
  }
});
