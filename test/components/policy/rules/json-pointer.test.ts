import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createArgumentsRules } from '../../../../components/policy/rules/arguments.js';
import {
  ABSENT, compilePointer, describeUnresolved, EACH, everyPointerValue, firstRefused, foldCase, foldCodePoint, pointerValue, UNRESOLVED,
} from '../../../../components/policy/rules/json-pointer.js';
import type { Verdict } from '../../../../components/policy/engine/types.js';
import { frameContext, toolCall } from '../../../helpers/frame-context.js';
import { seededRandom } from '../../../helpers/seeded-random.js';

const hex = (codePoint: number): string => `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/** Every code point with a case mapping, or that folds: the only ones simple folding can join. */
function casedCodePoints(): number[] {
  const cased: number[] = [];
  for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
    const text = String.fromCodePoint(codePoint);
    if (text.toUpperCase() !== text || text.toLowerCase() !== text || foldCodePoint(codePoint) !== codePoint) cased.push(codePoint);
  }
  return cased;
}

/** Simple case folding as the regular-expression engine applies it (/iu: CaseFolding.txt C and S). */
const sameUnderRegExp = (a: number, b: number): boolean => new RegExp(`^\\u{${a.toString(16)}}$`, 'iu').test(String.fromCodePoint(b));

// Where foldCodePoint is knowingly wider than simple folding: Go folds ı and İ with i and I.
const WIDER = new Set([0x49, 0x69, 0x130, 0x131]);

describe('case folding', () => {
  const table: Array<[string, string, boolean]> = [
    ['depth', 'Depth', true],
    ['depth', 'DEPTH', true],
    ['s', 'ſ', true], // U+017F LATIN SMALL LETTER LONG S folds to s
    ['S', 'ſ', true],
    ['k', 'K', true], // U+212A KELVIN SIGN folds to k
    ['Å', 'Å', true], // U+212B ANGSTROM SIGN folds to å
    ['µ', 'μ', true], // U+00B5 MICRO SIGN folds to μ
    ['σ', 'ς', true],
    ['Σ', 'ς', true],
    ['θ', 'ϑ', true],
    ['ß', 'ẞ', true], // U+1E9E folds to ß (simple)
    ['ß', 'ss', false], // ß → ss is full folding, not simple
    ['ß', 'SS', false],
    ['ﬁ', 'fi', false], // so is the ligature
    ['ᾀ', 'ᾈ', true],
    ['𐐀', '𐐨', true], // Deseret, outside the BMP
    ['i', 'ı', true], // wider than simple folding, as Go is
    ['i', 'İ', true],
    ['a', 'b', false],
    ['1', '١', false],
  ];
  for (const [a, b, same] of table) {
    it(`${JSON.stringify(a)} and ${JSON.stringify(b)} ${same ? 'fold together' : 'do not'}`, () => {
      assert.equal(foldCase(a) === foldCase(b), same, `${foldCase(a)} / ${foldCase(b)}`);
    });
  }

  it('agrees with the simple folding of /iu for every code point with a case (ı and İ excepted), and keeps UTF-16 lengths', () => {
    const cased = casedCodePoints();
    assert.ok(cased.length > 2500, `${cased.length} code points with a case`);
    for (const codePoint of cased) {
      const folded = foldCodePoint(codePoint);
      assert.equal(folded > 0xffff, codePoint > 0xffff, `${hex(codePoint)} → ${hex(folded)} changes its UTF-16 length`);
      assert.equal(foldCodePoint(folded), folded, `${hex(codePoint)}: folding is idempotent`);
      if (!WIDER.has(codePoint)) assert.ok(sameUnderRegExp(codePoint, folded), `${hex(codePoint)} → ${hex(folded)}: not the same under /iu`);
    }
    // The other direction, sampled (all pairs take seconds): what /iu joins, folding joins.
    const random = seededRandom(0x5eed_f01d);
    const byFold = new Map<number, number[]>();
    for (const codePoint of cased) {
      const group = byFold.get(foldCodePoint(codePoint)) ?? [];
      group.push(codePoint);
      byFold.set(foldCodePoint(codePoint), group);
    }
    for (let n = 0; n < 20_000; n++) {
      const a = cased[Math.floor(random() * cased.length)]!;
      // Half the time a partner from the same fold group or a neighbour, else any code point with a case.
      const b = random() < 0.5 ? cased[Math.min(cased.length - 1, cased.indexOf(a) + Math.floor(random() * 4))]! : cased[Math.floor(random() * cased.length)]!;
      if (WIDER.has(a) || WIDER.has(b)) continue;
      assert.equal(foldCodePoint(a) === foldCodePoint(b), sameUnderRegExp(a, b), `${hex(a)} and ${hex(b)}`);
    }
  });
});

describe('pointerValue', () => {
  const doc = JSON.parse('{"a/b":{"m~n":1},"list":[10,20],"":"empty key","__proto__":{"x":1},"options":"{\\"depth\\":99}","n":null,"Mode":"r","ſtate":1}');
  const table: Array<[string, unknown]> = [
    ['', doc],
    ['/a~1b/m~0n', 1],
    ['/list/1', 20],
    ['/list/2', ABSENT],
    ['/list/99999999999999999999', ABSENT],
    ['/list/01', UNRESOLVED],
    ['/list/-', UNRESOLVED],
    ['/list/x', UNRESOLVED],
    ['/', 'empty key'],
    ['/__proto__/x', 1],
    ['/constructor', ABSENT],
    ['/missing/deeper', ABSENT],
    ['/a~1b/m~0n/deeper', UNRESOLVED],
    ['/options/depth', UNRESOLVED],
    ['/n/x', UNRESOLVED],
    ['/mode', UNRESOLVED],
    ['/MODE', UNRESOLVED],
    ['/Mode', 'r'],
    ['/state', UNRESOLVED],
    ['/STATE', UNRESOLVED],
  ];
  for (const [pointer, expected] of table) {
    it(`resolves ${JSON.stringify(pointer)} to ${typeof expected === 'symbol' ? expected.description : JSON.stringify(expected)}`, () => {
      assert.equal(pointerValue(doc, compilePointer(pointer)), expected);
    });
  }

  it('says where it stopped, and never the value', () => {
    const describe = (pointer: string) => describeUnresolved(doc, compilePointer(pointer), 'the arguments object');
    assert.equal(describe('/options/depth'), 'cannot be resolved: /options is a string, not an object or array');
    assert.equal(describe('/a~1b/m~0n/deeper'), 'cannot be resolved: /a~1b/m~0n is a number, not an object or array');
    assert.equal(describe('/n/x'), 'cannot be resolved: /n is null, not an object or array');
    assert.equal(describe('/list/-'), 'cannot be resolved: /list is an array and "-" is not an array index');
    assert.equal(describe('/mode'), 'is ambiguous: the arguments object has no member "mode" but one equal to it ignoring case');
    assert.equal(describe('/__proto__/X'), 'is ambiguous: /__proto__ has no member "X" but one equal to it ignoring case');
  });

  it('treats no document as absent', () => {
    assert.equal(pointerValue(undefined, compilePointer('/a')), ABSENT);
  });

  it('rejects pointers that are not RFC 6901', () => {
    assert.throws(() => compilePointer('path'), /must be empty or start with "\/"/);
    assert.throws(() => compilePointer('/a~2'), /"~" not followed by 0 or 1/);
    assert.throws(() => compilePointer('/a~'), /"~" not followed by 0 or 1/);
  });
});

describe('each element: the * token', () => {
  const doc = JSON.parse('{"paths":["/a","/b"],"empty":[],"edits":[{"path":"/x"},{"text":"t"},"s"],"text":"[1]","obj":{"*":1,"0":2},"grid":[[1],[2,3]]}');
  const values = (pointer: string): unknown[] => {
    const seen: unknown[] = [];
    everyPointerValue(doc, compilePointer(pointer), (value) => (seen.push(value), true));
    return seen;
  };

  it('compiles * to EACH, and marks the pointer', () => {
    const compiled = compilePointer('/edits/*/path');
    assert.deepEqual(compiled.indexes, [-1, EACH, -1]);
    assert.equal(compiled.each, true);
    assert.equal(compilePointer('/edits/0/path').each, false);
    assert.equal(compilePointer('/a*').each, false, 'only a token that is exactly * is special');
  });

  const table: Array<[string, unknown[]]> = [
    ['/paths/*', ['/a', '/b']],
    ['/empty/*', []],
    ['/missing/*', [ABSENT]],
    ['/edits/*/path', ['/x', ABSENT, UNRESOLVED]],
    ['/text/*', [UNRESOLVED]],
    ['/obj/*', [UNRESOLVED]],
    ['/grid/*/*', [1, 2, 3]],
    ['/grid/*/1', [ABSENT, 3]],
    ['/paths/*/x', [UNRESOLVED, UNRESOLVED]],
  ];
  for (const [pointer, expected] of table) {
    it(`visits ${pointer} as ${JSON.stringify(expected.map((v) => (typeof v === 'symbol' ? v.description : v)))}`, () => {
      assert.deepEqual(values(pointer), expected);
    });
  }

  it('has no single value: pointerValue says UNRESOLVED, so a caller that forgets * fails closed', () => {
    assert.equal(pointerValue(doc, compilePointer('/paths/*')), UNRESOLVED);
    assert.equal(pointerValue(doc, compilePointer('/obj/*')), UNRESOLVED, 'a member named * is not followed');
  });

  it('stops at the first value refused, and names it by its own pointer', () => {
    const isString = (value: unknown) => typeof value === 'string';
    let visits = 0;
    assert.equal(everyPointerValue(doc, compilePointer('/edits/*/path'), (value) => (visits++, isString(value))), false);
    assert.equal(visits, 2, 'the third element is never looked at');
    assert.deepEqual(firstRefused(doc, compilePointer('/edits/*/path'), isString), { pointer: '/edits/1/path', value: ABSENT });
    assert.deepEqual(firstRefused(doc, compilePointer('/text/*'), isString), { pointer: '/text/*', value: UNRESOLVED });
    assert.deepEqual(firstRefused(doc, compilePointer('/missing/*/a~1b'), isString), { pointer: '/missing/*/a~1b', value: ABSENT });
    assert.deepEqual(firstRefused(undefined, compilePointer('/paths/*'), isString), { pointer: '/paths/*', value: ABSENT });
    assert.equal(firstRefused(doc, compilePointer('/paths/*'), isString), undefined);
    assert.equal(describeUnresolved(doc, compilePointer('/text/*'), 'the arguments object'), 'cannot be resolved: /text is a string, not an array');
    assert.equal(describeUnresolved(doc, compilePointer('/obj/*'), 'the arguments object'), 'cannot be resolved: /obj is an object, not an array');
    assert.equal(describeUnresolved(doc, compilePointer('/edits/2/path'), 'the arguments object'), 'cannot be resolved: /edits/2 is a string, not an object or array');
  });
});

// A generated check of the rule against a plain RFC 6901 walk: for random documents and
// pointers, the rule resolves exactly what the walk resolves; it reports absent only when the
// walk stopped at a member an existing object lacks (with no member equal to it ignoring case)
// or an index past the end of an existing array; anything else it denies, naming the pointer.
describe('the arguments rule against a plain walk (seeded)', () => {
  const KEYS = ['a', 'b', 'depth', 'Depth', 'DEPTH', 'root', 's', 'S', 'ſ', 'k', 'K', 'K', 'ß', 'ss', 'i', 'ı', '0', '1', '01', '-', '', 'a/b', 'm~n', '__proto__', 'constructor'];
  const TOKENS = [...KEYS, '2', '5', 'x', '00'];
  const SECRET = 'sk-secret-value';
  const LEAVES: unknown[] = [0, 1, 99, -1, 2.5, true, false, null, '', '/', SECRET, '{"depth":99,"root":"/"}', '[1,2]'];

  type Walk = { found: true; value: unknown } | { found: false; container: unknown; token: string };

  function plainWalk(document: unknown, tokens: readonly string[]): Walk {
    let current = document;
    for (const token of tokens) {
      if (Array.isArray(current) && /^(0|[1-9][0-9]*)$/.test(token) && Number(token) < current.length) current = current[Number(token)];
      else if (typeof current === 'object' && current !== null && !Array.isArray(current) && Object.hasOwn(current, token)) current = (current as Record<string, unknown>)[token];
      else return { found: false, container: current, token };
    }
    return { found: true, value: current };
  }

  /** Absent: the walk stopped at a member an object lacks (none equal to it ignoring case), or past an array's end. */
  function genuinelyAbsent(walk: Extract<Walk, { found: false }>): boolean {
    const { container, token } = walk;
    if (Array.isArray(container)) return /^(0|[1-9][0-9]*)$/.test(token);
    if (typeof container !== 'object' || container === null) return false;
    return !Object.keys(container).some((key) => foldCase(key) === foldCase(token));
  }

  function generate(random: () => number, depth: number): unknown {
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const roll = random();
    if (depth <= 0 || roll < 0.3) return pick(LEAVES);
    if (roll < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => generate(random, depth - 1));
    const object: Record<string, unknown> = {};
    const count = Math.floor(random() * 5);
    for (let i = 0; i < count; i++) {
      // defineProperty: `__proto__` as an own member, as JSON.parse makes it.
      Object.defineProperty(object, pick(KEYS), { value: generate(random, depth - 1), enumerable: true, writable: true, configurable: true });
    }
    return object;
  }

  /** Tokens that mostly follow the document (so walks go deep), sometimes anything. */
  function pointerInto(random: () => number, document: unknown): string[] {
    const tokens: string[] = [];
    let current = document;
    const length = 1 + Math.floor(random() * 4);
    for (let i = 0; i < length; i++) {
      let token: string;
      if (random() < 0.7 && typeof current === 'object' && current !== null) {
        const keys = Array.isArray(current) ? current.map((_, index) => String(index)) : Object.keys(current);
        token = keys.length > 0 ? keys[Math.floor(random() * keys.length)]! : TOKENS[Math.floor(random() * TOKENS.length)]!;
      } else {
        token = TOKENS[Math.floor(random() * TOKENS.length)]!;
      }
      tokens.push(token);
      current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[token] : undefined;
    }
    return tokens;
  }

  const encode = (tokens: readonly string[]): string => tokens.map((token) => `/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

  function verdictOf(spec: Record<string, unknown>, args: unknown): Verdict {
    const [rule] = createArgumentsRules({ id: 'gen', arguments: { tool: '*', reply: 'error', ...spec } } as never, { mode: 'enforce' });
    return rule!.evaluate(frameContext(toolCall('t', args)));
  }

  it('resolves, reports absent or denies exactly as the walk says, over 3000 generated cases', () => {
    const random = seededRandom(20_251_216);
    const counts = { found: 0, absent: 0, denied: 0 };
    for (let n = 0; n < 3000; n++) {
      const generated = generate(random, 4);
      const args = typeof generated === 'object' && generated !== null && !Array.isArray(generated) ? generated : { a: generated };
      const tokens = pointerInto(random, args);
      const pointer = encode(tokens);
      const parsed = JSON.parse(JSON.stringify(args)) as unknown; // what the rule sees
      const walk = plainWalk(parsed, tokens);
      const value = pointerValue(parsed, compilePointer(pointer));
      const forbidden = verdictOf({ forbidden: [pointer] }, args);
      const required = verdictOf({ required: [pointer] }, args);
      const where = `case ${n}: ${pointer} in ${JSON.stringify(args)}`;
      if (walk.found) {
        counts.found++;
        assert.equal(value, walk.value, where);
        assert.ok(forbidden.effect === 'deny' && forbidden.message === `argument ${pointer} is forbidden`, `${where}: ${JSON.stringify(forbidden)}`);
        assert.deepEqual(required, { effect: 'continue' }, where);
        assert.deepEqual(verdictOf({ properties: { [pointer]: { enum: [walk.value] } } }, args), { effect: 'continue' }, `${where}: the rule checks the value the walk found`);
      } else if (genuinelyAbsent(walk)) {
        counts.absent++;
        assert.equal(value, ABSENT, where);
        assert.deepEqual(forbidden, { effect: 'continue' }, where);
        assert.ok(required.effect === 'deny' && required.message === `argument ${pointer} is required`, `${where}: ${JSON.stringify(required)}`);
      } else {
        counts.denied++;
        assert.equal(value, UNRESOLVED, where);
        for (const verdict of [forbidden, required, verdictOf({ properties: { [pointer]: {} } }, args)]) {
          assert.ok(verdict.effect === 'deny', `${where}: ${JSON.stringify(verdict)}`);
          assert.equal(verdict.reason, 'argument_invalid');
          assert.match(verdict.message, new RegExp(`^argument ${pointer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (cannot be resolved|is ambiguous)`), where);
          assert.ok(!verdict.message.includes(SECRET) && !verdict.message.includes('99'), `${where}: the message leaks a value: ${verdict.message}`);
        }
      }
    }
    // The generator reaches every outcome often enough to mean something.
    for (const [outcome, count] of Object.entries(counts)) assert.ok(count > 300, `${outcome}: ${count} cases`);
  });

  /** What each concrete pointer a `*` pointer stands for resolves to, by the plain walk: [pointer, value | ABSENT | UNRESOLVED]. */
  function expand(document: unknown, tokens: readonly string[], prefix: string[] = []): Array<[string, unknown]> {
    const at = tokens.indexOf('*');
    if (at === -1) {
      const walk = plainWalk(document, tokens);
      const value = walk.found ? walk.value : genuinelyAbsent(walk) ? ABSENT : UNRESOLVED;
      return [[encode([...prefix, ...tokens]), value]];
    }
    const before = plainWalk(document, tokens.slice(0, at));
    if (!before.found) return [[encode([...prefix, ...tokens]), genuinelyAbsent(before) ? ABSENT : UNRESOLVED]];
    if (!Array.isArray(before.value)) return [[encode([...prefix, ...tokens]), UNRESOLVED]];
    return before.value.flatMap((element, index) => expand(element, tokens.slice(at + 1), [...prefix, ...tokens.slice(0, at), String(index)]));
  }

  it('with * tokens: forbids, requires and names the first failing element exactly as an expansion over the arrays says, over 3000 generated cases', () => {
    const random = seededRandom(20_260_728);
    const counts = { passed: 0, absent: 0, unresolved: 0, empty: 0 };
    for (let n = 0; n < 3000; n++) {
      const generated = generate(random, 4);
      const args = typeof generated === 'object' && generated !== null && !Array.isArray(generated) ? generated : { a: generated };
      const tokens = pointerInto(random, args);
      // Replace one token after the first (the arguments are an object) by *, most often where an array is.
      const star = 1 + Math.floor(random() * Math.max(1, tokens.length - 1));
      if (star >= tokens.length) tokens.push('*');
      else tokens[star] = '*';
      if (random() < 0.3) tokens.push('*');
      const pointer = encode(tokens);
      const parsed = JSON.parse(JSON.stringify(args)) as unknown;
      const outcomes = expand(parsed, tokens);
      const where = `case ${n}: ${pointer} in ${JSON.stringify(args)}`;
      if (outcomes.length === 0) counts.empty++;
      const firstNot = (ok: (value: unknown) => boolean) => outcomes.find(([, value]) => !ok(value));

      const required = verdictOf({ required: [pointer] }, args);
      const missing = firstNot((value) => value !== ABSENT && value !== UNRESOLVED);
      if (missing === undefined) {
        counts.passed++;
        assert.deepEqual(required, { effect: 'continue' }, where);
      } else {
        assert.ok(required.effect === 'deny', `${where}: ${JSON.stringify(required)}`);
        const [concrete, value] = missing;
        if (value === ABSENT) {
          counts.absent++;
          assert.equal(required.message, `argument ${concrete} is required`, where);
        } else {
          counts.unresolved++;
          assert.match(required.message, new RegExp(`^argument ${concrete.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (cannot be resolved|is ambiguous)`), where);
        }
        assert.ok(!required.message.includes(SECRET), `${where}: the message leaks a value`);
      }

      const forbidden = verdictOf({ forbidden: [pointer] }, args);
      const present = firstNot((value) => value === ABSENT);
      if (present === undefined) assert.deepEqual(forbidden, { effect: 'continue' }, where);
      else {
        assert.ok(forbidden.effect === 'deny', `${where}: ${JSON.stringify(forbidden)}`);
        assert.ok(forbidden.message.startsWith(`argument ${present[0]} `), `${where}: ${forbidden.message}`);
      }

      // A property check sees every value found, and only those: `enum` of exactly them passes.
      const found = outcomes.filter(([, value]) => value !== ABSENT && value !== UNRESOLVED).map(([, value]) => value);
      const property = verdictOf({ properties: { [pointer]: { enum: [...found, 'never'] } } }, args);
      if (outcomes.some(([, value]) => value === UNRESOLVED)) assert.equal(property.effect, 'deny', where);
      else assert.deepEqual(property, { effect: 'continue' }, where);
    }
    for (const [outcome, count] of Object.entries(counts)) assert.ok(count > 100, `${outcome}: ${count} cases`);
  });
});
