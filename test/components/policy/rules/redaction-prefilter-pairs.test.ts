// The prefilter's string loops skip bytes by a table of byte pairs (and four plain bytes at a
// time): a filter that may only over-approximate. A seeded property test against a naive search:
// whenever the decoded string values of a frame, joined in order, hold an anchor (or a separator,
// for password assignments), the prefilter must not call the frame clean.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DETECTOR_NAMES } from '../../../../components/policy/rules/redaction-detectors.js';
import { RedactionPrefilter, type Anchors } from '../../../../components/policy/rules/redaction-prefilter.js';
import { seededRandom } from '../../../helpers/seeded-random.js';

const BUILT_IN = RedactionPrefilter.anchorsOf(DETECTOR_NAMES)!;
// The anchors `mayHoldSecretsInJson` joins with (redact.ts): the key names, any case, no separators.
const KEY_NAMES: Anchors = { exact: BUILT_IN.exact, anyCase: [...BUILT_IN.anyCase, 'pass', 'pwd', 'secret', 'api_key', 'apikey', 'api-key', 'token', 'private'], separators: false };

// The letters of every anchor in both cases, digits, separators, and bytes near them.
const ALPHABET = [...new Set([...'-----BEGIN AKIASIAghp_gho_ghu_ghs_ghr_github_pat_eyJbearerpasspwdsecretapi_keytokenprivate'].flatMap((c) => [c, c.toLowerCase(), c.toUpperCase()]))]
  .concat([...'0123456789 =:.,/\\"\n\té€😀ſK']);
const PLANTS = ['AKIA', 'ASIA', 'ghp_', 'gho_', 'ghs_', 'github_pat_', 'eyJ', 'bearer', 'BeArEr', 'BEARER', '-----BEGIN ', 'pass', 'PwD', 'Secret', 'api_key', 'API-KEY', 'token', 'private', '=', ':',
  'AKI', 'gh', 'ghp', 'ey', 'bea', '-----BEGI', 'githu', 'eyj', 'akia', 'GHP_'];

function naiveMayHold(texts: readonly string[], anchors: Anchors): boolean {
  const joined = texts.join('');
  if (anchors.separators && /[=:]/.test(joined)) return true;
  const lower = joined.toLowerCase(); // no non-ASCII character lowers to an ASCII letter but K (Kelvin): only over-approximates
  return anchors.exact.some((anchor) => joined.includes(anchor)) || anchors.anyCase.some((anchor) => lower.includes(anchor));
}

function randomText(next: () => number, length: number): string {
  let text = '';
  while (text.length < length) {
    text += next() < 0.08 ? PLANTS[Math.floor(next() * PLANTS.length)] : ALPHABET[Math.floor(next() * ALPHABET.length)];
  }
  return text;
}

function randomLength(next: () => number): number {
  const kind = next();
  if (kind < 0.5) return Math.floor(next() * 12); // a few characters: pairs cut by the closing quote
  if (kind < 0.85) return Math.floor(next() * 80); // around the 64-byte inline loop of long frames
  return Math.floor(next() * 700); // the loop to a string's end in a frame's last 2 KiB
}

/**
 * A tools/call result with its texts as content items (or, `asItems` false, as one array, as
 * arguments are: `"text"` ends in the `t` of `token`, so no text after it is clean under the key
 * names), and sometimes padding so that the frame's strings fall either side of the SIMD boundary.
 */
function frameOf(texts: readonly string[], pad: number, asItems = true): Buffer {
  const content = asItems ? texts.map((text) => ({ type: 'text', text })) : texts;
  const result = pad > 0 ? { content, _meta: { size: pad } } : { content };
  const json = JSON.stringify({ jsonrpc: '2.0', id: 7, result });
  return Buffer.from(pad > 0 ? json.replace('"_meta"', `"_pad":${' '.repeat(pad)}0,"_meta"`) : json);
}

describe('RedactionPrefilter pair table (the short-string fast path)', () => {
  for (const [name, anchors, asItems] of [['built-in detectors', BUILT_IN, true], ['key names (mayHoldSecretsInJson)', KEY_NAMES, false]] as const) {
    it(`never calls clean a frame whose strings, joined, hold an anchor: ${name}`, () => {
      const prefilter = new RedactionPrefilter(anchors);
      const next = seededRandom(0x4810 + anchors.anyCase.length);
      let caught = 0, cleared = 0;
      for (let round = 0; round < 4000; round++) {
        const texts = Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomText(next, randomLength(next)));
        const pad = next() < 0.3 ? Math.floor(next() * 3000) : 0;
        const frame = frameOf(texts, pad, asItems);
        const strings = ['2.0', ...texts.flatMap((text) => (asItems ? ['text', text] : [text]))]; // the frame's string values in order (keys are not scanned)
        const mayHold = naiveMayHold(strings, anchors);
        const clean = prefilter.clean(frame);
        if (mayHold) {
          assert.equal(clean, false, `seeded round ${round}: ${JSON.stringify(texts)}`);
          caught += 1;
        } else if (clean) {
          cleared += 1;
        }
      }
      // The property is not vacuous: both kinds of frame occur, and the filter clears clean ones.
      assert.ok(caught > 500, `${caught} frames with an anchor`);
      assert.ok(cleared > 100, `${cleared} clean frames cleared`);
    });
  }

  it('finds an anchor at every offset of a plain string, in short and long frames, whatever its case variant', () => {
    const prefilter = new RedactionPrefilter(BUILT_IN);
    const plain = 'abcdefghij0123456789 '.repeat(40);
    for (const anchor of ['AKIA', 'ghp_', 'github_pat_', 'eyJ', 'bearer', 'bEaReR', '-----BEGIN ', '=', ':']) {
      for (const length of [1, 3, 4, 5, 40, 63, 64, 65, 200, 700]) {
        for (let at = 0; at <= length; at += at < 8 ? 1 : 13) {
          const text = plain.slice(0, at) + anchor + plain.slice(0, Math.max(0, length - at));
          for (const pad of [0, 2500]) assert.equal(prefilter.clean(frameOf([text], pad)), false, `${anchor} at ${at} of ${length}, pad ${pad}`);
        }
        for (const pad of [0, 2500]) assert.equal(prefilter.clean(frameOf([plain.slice(0, length)], pad)), true, `plain ${length}, pad ${pad}`);
      }
    }
  });
});
