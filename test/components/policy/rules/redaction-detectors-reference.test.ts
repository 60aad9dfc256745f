// The github-token and bearer-token detectors were rewritten for speed (the underscore of `gh?_`
// found natively; `bearer` by a regular expression instead of a loop over the characters). This
// compares them with the loops they replaced, kept here as the reference, on texts full of near
// misses: the matches must be the same, in the same order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILT_IN_DETECTORS, type SecretMatch } from '../../../../components/policy/rules/redaction-detectors.js';
import { seededRandom } from '../../../helpers/seeded-random.js';

const WORD = /[A-Za-z0-9_]/;
const ALNUM = /[A-Za-z0-9]/;
const TOKEN68 = /[A-Za-z0-9\-._~+/]/;
const LETTER = /[A-Za-z]/;
const isChar = (text: string, index: number, re: RegExp): boolean => index >= 0 && index < text.length && text.charCodeAt(index) < 128 && re.test(text[index]!);
const runEnd = (text: string, from: number, re: RegExp): number => {
  let i = from;
  while (i < text.length && isChar(text, i, re)) i++;
  return i;
};

/** The github-token detector before the change. */
function githubReference(text: string, out: SecretMatch[]): void {
  for (let at = text.indexOf('gh'); at !== -1; at = text.indexOf('gh', at + 1)) {
    if (at > 0 && isChar(text, at - 1, WORD)) continue;
    if (!'pousr'.includes(text[at + 2] ?? '!') || text.charCodeAt(at + 3) !== 0x5f) continue;
    const end = runEnd(text, at + 4, ALNUM);
    if (end - (at + 4) < 36) continue;
    out.push({ start: at, end, name: 'github-token' });
    at = end - 1;
  }
  for (let at = text.indexOf('github_pat_'); at !== -1; at = text.indexOf('github_pat_', at + 1)) {
    if (at > 0 && isChar(text, at - 1, WORD)) continue;
    const end = runEnd(text, at + 11, WORD);
    if (end - (at + 11) < 22) continue;
    out.push({ start: at, end, name: 'github-token' });
    at = end - 1;
  }
}

function indexOfIgnoringCase(text: string, lowerNeedle: string, from: number): number {
  const first = lowerNeedle.charCodeAt(0);
  const last = text.length - lowerNeedle.length;
  outer: for (let i = from; i <= last; i++) {
    if ((text.charCodeAt(i) | 0x20) !== first) continue;
    for (let j = 1; j < lowerNeedle.length; j++) {
      if ((text.charCodeAt(i + j) | 0x20) !== lowerNeedle.charCodeAt(j)) continue outer;
    }
    return i;
  }
  return -1;
}

const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;

/** The bearer-token detector before the change. */
function bearerReference(text: string, out: SecretMatch[]): void {
  for (let at = indexOfIgnoringCase(text, 'bearer', 0); at !== -1; at = indexOfIgnoringCase(text, 'bearer', at + 1)) {
    if (at > 0 && isChar(text, at - 1, ALNUM)) continue;
    let start = at + 6;
    if (!isBlank(text.charCodeAt(start))) continue;
    while (isBlank(text.charCodeAt(start))) start++;
    let end = runEnd(text, start, TOKEN68);
    let lettersOnly = true;
    for (let i = start; i < end && lettersOnly; i++) lettersOnly = isChar(text, i, LETTER);
    const length = end - start;
    if (length < 8 || (lettersOnly && length < 20)) continue;
    while (text.charCodeAt(end) === 0x3d) end++;
    out.push({ start, end, name: 'bearer-token' });
    at = end - 1;
  }
}


const PIECES = ['gh', 'ghp_', 'ghs_', 'gho_', 'ghx_', 'g', 'h', '_', '__', 'github_pat_', 'github_', 'xgh', 'bearer', 'Bearer ', 'BEARER\t', 'bEaReR  ',
  'bearerbearer ', 'b', 'ear', 'er ', '=', '==', '.', '-', '~', '+', '/', ' ', '\t', 'ſ', 'K', 'İ', 'é', '😀', 'abcdefghijklmnopqrstuvwxyz', '0123456789', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

function makeText(next: () => number): string {
  let text = '';
  for (let k = Math.floor(next() * 30); k > 0; k--) {
    if (next() < 0.6) text += PIECES[Math.floor(next() * PIECES.length)];
    else for (let f = Math.floor(next() * 30); f > 0; f--) text += 'aZ09_ '[Math.floor(next() * 6)];
  }
  return text;
}

describe('github-token and bearer-token detectors, rewritten for speed', () => {
  it('should find the same matches as the loops they replaced', () => {
    const next = seededRandom(1121);
    let found = 0;
    for (let n = 0; n < 30_000; n++) {
      const text = makeText(next);
      for (const [name, reference] of [['github-token', githubReference], ['bearer-token', bearerReference]] as const) {
        const expected: SecretMatch[] = [];
        reference(text, expected);
        const actual: SecretMatch[] = [];
        BUILT_IN_DETECTORS[name].find(text, actual);
        assert.deepEqual(actual, expected, `${name}: ${JSON.stringify(text)}`);
        found += expected.length;
      }
    }
    assert.ok(found > 1000, `only ${found} matches: the texts test too little`);
  });
});
