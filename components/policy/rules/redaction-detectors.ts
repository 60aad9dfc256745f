// Secret detectors for the redact rule. The built-ins are hand-written scans: each finds a
// fixed anchor with the native `indexOf` (or one pass of character comparisons for the
// case-insensitive `bearer`), checks a bounded amount of text around it, and resumes after what
// it matched, so a scan is linear in the text and a 1 MiB result costs a few milliseconds.
// Custom patterns are RE2 (re2js): linear time too, whatever the pattern.
import type { RE2JS } from 're2js';
import { loadRe2 } from '../document/re2.js';
import type { DetectorName } from '../document/document.js';

/** A half-open range [start, end) of UTF-16 code units in the scanned text. */
export interface SecretMatch {
  readonly start: number;
  readonly end: number;
  /** The detector (or custom pattern) name: the marker says `[REDACTED:<name>]`. */
  readonly name: string;
}

export interface Detector {
  readonly name: string;
  /** Appends every match in `text` to `out`, in any order (overlaps are merged by the caller). */
  find(text: string, out: SecretMatch[]): void;
}

/** Compiles an RE2 pattern (re2js, loaded on the first: document/re2.ts), throwing its syntax error. */
export function compileRe2(pattern: string): RE2JS {
  return loadRe2().compile(pattern);
}

// Character classes, as bit flags over ASCII.
const WORD = 1; // [A-Za-z0-9_]
const UPPER_DIGIT = 2; // [A-Z0-9]
const ALNUM = 4; // [A-Za-z0-9]
const B64URL = 8; // [A-Za-z0-9_-]
const TOKEN68 = 16; // [A-Za-z0-9-._~+/]
const IDENT = 32; // [A-Za-z0-9_.-]
const LETTER = 64; // [A-Za-z]
const CLASSES = new Uint8Array(128);
for (let code = 0; code < 128; code++) {
  const c = String.fromCharCode(code);
  let flags = 0;
  const upper = c >= 'A' && c <= 'Z';
  const lower = c >= 'a' && c <= 'z';
  const digit = c >= '0' && c <= '9';
  if (upper || lower) flags |= LETTER;
  if (upper || lower || digit) flags |= ALNUM | WORD | B64URL | TOKEN68 | IDENT;
  if (upper || digit) flags |= UPPER_DIGIT;
  if (c === '_') flags |= WORD | B64URL | TOKEN68 | IDENT;
  if (c === '-') flags |= B64URL | TOKEN68 | IDENT;
  if (c === '.') flags |= TOKEN68 | IDENT;
  if (c === '~' || c === '+' || c === '/') flags |= TOKEN68;
  CLASSES[code] = flags;
}

function is(text: string, index: number, flag: number): boolean {
  const code = text.charCodeAt(index); // NaN outside the text: false below
  return code < 128 && (CLASSES[code]! & flag) !== 0;
}

/** The end of the run of `flag` characters starting at `from`. */
function runEnd(text: string, from: number, flag: number): number {
  let i = from;
  while (i < text.length && is(text, i, flag)) i++;
  return i;
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c || code === 0x0b;
}

/** The label of a PEM boundary (`RSA PRIVATE KEY`) starting at `from`, if it names a private key and ends in `-----`. */
function privateKeyLabelEnd(text: string, from: number): number {
  let i = from;
  const limit = Math.min(text.length, from + 64);
  while (i < limit && (is(text, i, UPPER_DIGIT) || text.charCodeAt(i) === 0x20)) i++;
  if (!text.startsWith('-----', i)) return -1;
  const label = text.slice(from, i);
  const named = label.endsWith('PRIVATE KEY') ? label.length - 11 : label.endsWith('PRIVATE KEY BLOCK') ? label.length - 17 : -1;
  if (named < 0 || (named > 0 && label[named - 1] !== ' ')) return -1;
  return i + 5;
}

/** PEM private keys, BEGIN to END. A block with no END (cut short) is redacted to the end of the text. */
const privateKey: Detector = {
  name: 'private-key',
  find(text, out) {
    let from = 0;
    for (;;) {
      const begin = text.indexOf('-----BEGIN ', from);
      if (begin === -1) return;
      const headerEnd = privateKeyLabelEnd(text, begin + 11);
      if (headerEnd === -1) {
        from = begin + 1;
        continue;
      }
      let end = text.length;
      for (let search = headerEnd; ;) {
        const endMarker = text.indexOf('-----END ', search);
        if (endMarker === -1) break;
        const footerEnd = privateKeyLabelEnd(text, endMarker + 9);
        if (footerEnd !== -1) {
          end = footerEnd;
          break;
        }
        search = endMarker + 1;
      }
      out.push({ start: begin, end, name: 'private-key' });
      from = end;
    }
  },
};

/** AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 of [A-Z0-9], a word on its own. */
const awsAccessKey: Detector = {
  name: 'aws-access-key',
  find(text, out) {
    for (const prefix of ['AKIA', 'ASIA']) {
      for (let at = text.indexOf(prefix); at !== -1; at = text.indexOf(prefix, at + 1)) {
        if (at > 0 && is(text, at - 1, WORD)) continue;
        const end = at + 20;
        if (runEnd(text, at + 4, UPPER_DIGIT) < end || is(text, end, WORD)) continue;
        out.push({ start: at, end, name: 'aws-access-key' });
      }
    }
  },
};

/** GitHub tokens: ghp_/gho_/ghu_/ghs_/ghr_ and 36 or more of [A-Za-z0-9]; github_pat_ and 22 or more of [A-Za-z0-9_]. */
const githubToken: Detector = {
  name: 'github-token',
  find(text, out) {
    // Every token has an underscore, rare in text: without one, there is nothing to look for.
    if (!text.includes('_')) return;
    // `gh?_` found by its underscore (where `gh` is not rare), then checked before it; after a
    // match the search resumes at its end.
    for (let from = 0, underscore = text.indexOf('_', 3); underscore !== -1; underscore = text.indexOf('_', Math.max(underscore + 1, from + 3))) {
      const at = underscore - 3;
      if (at < from || text.charCodeAt(at) !== 0x67 || text.charCodeAt(at + 1) !== 0x68) continue; // gh
      if (at > 0 && is(text, at - 1, WORD)) continue;
      if (!'pousr'.includes(text[at + 2]!)) continue;
      const end = runEnd(text, at + 4, ALNUM);
      if (end - (at + 4) < 36) continue;
      out.push({ start: at, end, name: 'github-token' });
      from = end;
    }
    for (let at = text.indexOf('github_pat_'); at !== -1; at = text.indexOf('github_pat_', at + 1)) {
      if (at > 0 && is(text, at - 1, WORD)) continue;
      const end = runEnd(text, at + 11, WORD);
      if (end - (at + 11) < 22) continue;
      out.push({ start: at, end, name: 'github-token' });
      at = end - 1;
    }
  },
};

/** JSON Web Tokens: three base64url segments separated by dots, the header starting `eyJ` (`{"`). */
const jwt: Detector = {
  name: 'jwt',
  find(text, out) {
    for (let at = text.indexOf('eyJ'); at !== -1; at = text.indexOf('eyJ', at + 1)) {
      if (at > 0 && is(text, at - 1, B64URL)) continue;
      const headerEnd = runEnd(text, at + 3, B64URL);
      if (headerEnd - at < 10 || text.charCodeAt(headerEnd) !== 0x2e) continue;
      const payloadEnd = runEnd(text, headerEnd + 1, B64URL);
      if (payloadEnd - headerEnd - 1 < 2 || text.charCodeAt(payloadEnd) !== 0x2e) continue;
      const end = runEnd(text, payloadEnd + 1, B64URL);
      out.push({ start: at, end, name: 'jwt' });
      at = end - 1;
    }
  },
};

// `bearer` in any ASCII case. A regular expression rather than a loop over the characters: the
// engine's native scan is ~15x faster on long texts. Without the `u` flag, `i` folds no
// character outside ASCII onto these letters, so this is exactly ASCII case-insensitivity.
const BEARER = /bearer/gi;

/** Index of `bearer` in `text` from `from`, ignoring ASCII case; -1 if none. */
function indexOfBearer(text: string, from: number): number {
  BEARER.lastIndex = from;
  const match = BEARER.exec(text);
  return match === null ? -1 : match.index;
}

/**
 * `Bearer <token>` (any case): the token is redacted, the word kept. To leave prose alone
 * ("the bearer of the letter"), the token must be 8 or more token68 characters and either
 * contain a digit or symbol or be 20 or more characters long.
 */
const bearerToken: Detector = {
  name: 'bearer-token',
  find(text, out) {
    for (let at = indexOfBearer(text, 0); at !== -1; at = indexOfBearer(text, at + 1)) {
      if (at > 0 && is(text, at - 1, ALNUM)) continue;
      let start = at + 6;
      if (!isBlank(text.charCodeAt(start))) continue;
      while (isBlank(text.charCodeAt(start))) start++;
      let end = runEnd(text, start, TOKEN68);
      let lettersOnly = true;
      for (let i = start; i < end && lettersOnly; i++) lettersOnly = is(text, i, LETTER);
      const length = end - start;
      if (length < 8 || (lettersOnly && length < 20)) continue;
      while (text.charCodeAt(end) === 0x3d) end++;
      out.push({ start, end, name: 'bearer-token' });
      at = end - 1;
    }
  },
};

/**
 * Key names whose value is a secret. Matched case-insensitively at the end of the identifier
 * before `=` or `:`, on an identifier boundary: `DB_PASSWORD=`, `"api_key":`, `x-api-key:` all
 * count; `max_tokens:` and `passwordless:` do not.
 */
const SECRET_KEYS = [
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'secret_key', 'secret_access_key', 'api_key', 'apikey', 'api-key',
  'token', 'private_key',
];
const IDENT_LOOKBACK = 64;

/** True for a key name whose value is a secret (`password`, `DB_PASSWORD`, `api_key`, `x-api-key`, ...). */
export function isSecretKey(identifier: string): boolean {
  const lower = identifier.toLowerCase();
  for (const key of SECRET_KEYS) {
    if (!lower.endsWith(key)) continue;
    const before = lower.length - key.length - 1;
    if (before < 0 || !is(lower, before, ALNUM)) return true;
  }
  return false;
}

/** Where an unquoted value ends: whitespace, a quote, `,`, `;` or `&`. */
function unquotedValueEnd(text: string, from: number): number {
  let i = from;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isSpace(code) || code === 0x22 || code === 0x27 || code === 0x2c || code === 0x3b || code === 0x26) break;
  }
  return i;
}

/** `password=...`, `secret: ...`, `"api_key": "..."`, `token=...`: the value is redacted, the key kept. */
const passwordAssignment: Detector = {
  name: 'password-assignment',
  find(text, out) {
    let nextEquals = text.indexOf('=');
    let nextColon = text.indexOf(':');
    let from = 0;
    for (;;) {
      if (nextEquals !== -1 && nextEquals < from) nextEquals = text.indexOf('=', from);
      if (nextColon !== -1 && nextColon < from) nextColon = text.indexOf(':', from);
      const separator = nextEquals === -1 ? nextColon : nextColon === -1 ? nextEquals : Math.min(nextEquals, nextColon);
      if (separator === -1) return;
      from = separator + 1;

      // Back over blanks and one closing quote to the identifier.
      let identEnd = separator;
      while (identEnd > 0 && isBlank(text.charCodeAt(identEnd - 1)) && separator - identEnd < 16) identEnd--;
      const quote = text.charCodeAt(identEnd - 1);
      if (quote === 0x22 || quote === 0x27) identEnd--;
      let identStart = identEnd;
      while (identStart > 0 && identEnd - identStart < IDENT_LOOKBACK && is(text, identStart - 1, IDENT)) identStart--;
      if (identStart === identEnd || !isSecretKey(text.slice(identStart, identEnd))) continue;

      // Forward over `:=` / `=>`, blanks, to the value.
      let start = separator + 1;
      const next = text.charCodeAt(start);
      if (text.charCodeAt(separator) === 0x3d && next === 0x3d) continue; // `==` compares, it does not assign
      if ((text.charCodeAt(separator) === 0x3a && next === 0x3d) || (text.charCodeAt(separator) === 0x3d && next === 0x3e)) start++;
      while (isBlank(text.charCodeAt(start))) start++;
      const open = text.charCodeAt(start);
      let end: number;
      if (open === 0x22 || open === 0x27) {
        start++;
        end = start;
        while (end < text.length) {
          const code = text.charCodeAt(end);
          if (code === open || code === 0x0a || code === 0x0d) break;
          end += code === 0x5c ? 2 : 1;
        }
        end = Math.min(end, text.length);
      } else {
        end = unquotedValueEnd(text, start);
      }
      if (end <= start) continue;
      out.push({ start, end, name: 'password-assignment' });
      from = end;
    }
  },
};

export const BUILT_IN_DETECTORS: Readonly<Record<DetectorName, Detector>> = Object.freeze({
  'private-key': privateKey,
  'aws-access-key': awsAccessKey,
  'github-token': githubToken,
  jwt,
  'bearer-token': bearerToken,
  'password-assignment': passwordAssignment,
});

export const DETECTOR_NAMES = Object.freeze(Object.keys(BUILT_IN_DETECTORS) as DetectorName[]);

/** A detector for a custom RE2 pattern; every non-empty match is a secret. */
export function createPatternDetector(name: string, pattern: string): Detector {
  const re = compileRe2(pattern);
  if (re.testExact('')) throw new Error(`pattern ${JSON.stringify(name)} matches the empty string`);
  return {
    name,
    find(text, out) {
      if (!re.test(text)) return;
      const matcher = re.matcher(text);
      while (matcher.find()) {
        const start = matcher.start();
        const end = matcher.end();
        if (end > start) out.push({ start, end, name });
      }
    },
  };
}
