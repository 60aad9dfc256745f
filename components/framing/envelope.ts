// Reads a frame's JSON-RPC envelope (kind, id, method) straight from its bytes and validates
// the whole frame on the way, in one pass, without building the body: strings with their
// escapes, UTF-8, numbers, literals, nesting. A 1 MiB tool result costs one SIMD scan of its
// string (string-scan.ts), not a JSON.parse. A rule that needs the body parses it on demand
// (parseFrameBody).
//
// One reading: a frame is refused when conforming peers could read it differently —
//   - a carriage return anywhere but just before the closing `\n` (universal-newline readers,
//     such as the Python SDK's stdin, end a line there);
//   - a member name twice in one object, at any depth (first-wins and last-wins parsers);
//   - at the top level and in `params`, `result` and `error`, a member whose name equals a
//     JSON-RPC or MCP member name only after case folding (Go's encoding/json matches names
//     case-insensitively, Unicode simple folding included: `paramſ` is `params` there);
//   - an escape for half a surrogate pair (kept by JavaScript, replaced by Go);
//   - an id no peer can echo exactly: not a string or number, or a number beyond ±2^53.

import { isAscii, isUtf8 } from 'node:buffer';
import { foldCase } from './case-fold.js';
import { idKeyOfValue } from './id-key.js';
import { nextStringStop, passedNonAscii, resetStringScan } from './string-scan.js';

export type FrameKind = 'request' | 'notification' | 'response' | 'error' | 'batch';

export interface Envelope {
  readonly kind: FrameKind;
  /** The id exactly as written (JSON text: `7`, `"a"`, `null`); undefined when absent. */
  readonly id: string | undefined;
  /** The id by value, as a JSON.parse peer reads it (`7.0` and `7` are one key); undefined when absent. */
  readonly key: string | undefined;
  readonly method: string | undefined;
  /** For a batch: its members, each with its own bytes (a view of the frame's). */
  readonly members?: readonly BatchMember[];
  /**
   * How deep the frame nests containers (the message object is 1, a batch's members 2), read in
   * the same pass: the policy's `limits.maxDepth` compares it instead of scanning the bytes again.
   * Absent on an envelope built elsewhere (a local reply's, a batch member's).
   */
  readonly depth?: number;
}

export interface BatchMember extends Envelope {
  /** The member's JSON text as it stands in the batch (no line end). */
  readonly bytes: Buffer;
}

export type EnvelopeProblemKind =
  /** Not JSON by RFC 8259. */
  | 'parse'
  /** JSON, but not a JSON-RPC message. */
  | 'not_jsonrpc'
  /** Only whitespace. */
  | 'blank'
  /** JSON that conforming peers could read in more than one way (see above). */
  | 'ambiguous';

export interface EnvelopeProblem {
  readonly kind: 'invalid';
  readonly problem: EnvelopeProblemKind;
  readonly detail: string;
  /** The id and method, when they were read (unambiguously) before the problem was found. */
  readonly id: string | undefined;
  readonly key?: string | undefined;
  readonly method?: string | undefined;
  /** For a batch: its members that are requests with a readable id, each owed an answer. */
  readonly requests?: ReadonlyArray<{ readonly id: string; readonly key: string; readonly method: string }>;
  /** For a batch: the id keys of its members that are responses (each settles what it answers). */
  readonly responses?: readonly string[];
}

export type EnvelopeResult = Envelope | EnvelopeProblem;

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c, SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
/** Deeper frames are refused: under Python's default recursion limit, so every peer can read what passes. */
export const MAX_NESTING = 512;
// Strings are scanned byte by byte for this long before the SIMD scan takes over: keys, ids
// and method names are short, and a call costs more than a short loop (but a byte of loop costs
// ~1.1 ns, a long string goes to the scan soon).
const INLINE_STRING_SCAN = 32;
/** Within this many bytes of the frame's end, the loop goes on (a call costs about this many bytes of loop). */
const LONG_STRING_BYTES = 96;
const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER;

class Malformed extends Error {}
class Ambiguous extends Error {}
class NotJsonRpc extends Error {}

// Member names a peer acts on: a variant of one of these (by case) is ambiguous where it stands.
const ENVELOPE_NAMES = new Set(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);
const MCP_NAMES = new Set([
  '_meta', 'name', 'arguments', 'uri', 'uriTemplate', 'cursor', 'nextCursor', 'progressToken', 'progress', 'total', 'message',
  'requestId', 'reason', 'level', 'logger', 'data', 'ref', 'argument', 'context', 'messages', 'content', 'contents',
  'structuredContent', 'isError', 'tools', 'prompts', 'resources', 'resourceTemplates', 'roots', 'capabilities',
  'protocolVersion', 'clientInfo', 'serverInfo', 'instructions', 'code', 'task', 'mode', 'requestedSchema', 'action',
  'maxTokens', 'systemPrompt', 'includeContext', 'modelPreferences', 'stopReason', 'model', 'role', 'type', 'text',
  'mimeType', 'blob', 'annotations', 'title', 'description', 'inputSchema', 'outputSchema', 'completion', 'values', 'hasMore',
]);

interface KnownNames {
  readonly exact: ReadonlySet<string>;
  readonly folded: ReadonlyMap<string, string>;
  /**
   * By length, the folded forms of the names that have capitals (`progresstoken`): a name with
   * no capital, escape or non-ASCII byte can only be a case variant of one of these, and is
   * compared with them as bytes, without decoding it.
   */
  readonly lowerByLength: ReadonlyArray<readonly string[] | undefined>;
  /** 1 at [length * 128 + first byte] when a name of lowerByLength could match: most names are ruled out by one lookup. */
  readonly lowerGate: Uint8Array;
}

function knownNames(names: ReadonlySet<string>): KnownNames {
  // Dense (null where no name has that length, up to a bound): a read of a hole in a sparse array is a slow lookup.
  const lowerByLength: Array<string[] | undefined> = Array.from({ length: 64 }, () => undefined);
  const lowerGate = new Uint8Array(64 * 128);
  for (const name of names) {
    const folded = foldCase(name);
    if (folded === name) continue;
    (lowerByLength[folded.length] ??= []).push(folded);
    lowerGate[folded.length * 128 + folded.charCodeAt(0)] = 1;
  }
  return { exact: names, folded: new Map([...names].map((name) => [foldCase(name), name])), lowerByLength, lowerGate };
}

/** The candidate (ASCII, each as long as the name at `from`) that the bytes at `from` spell, if any. */
function spellsOneOf(b: Buffer, from: number, candidates: readonly string[]): string | undefined {
  outer: for (const candidate of candidates) {
    for (let k = 0; k < candidate.length; k++) if (b[from + k] !== candidate.charCodeAt(k)) continue outer;
    return candidate;
  }
  return undefined;
}
const ENVELOPE = knownNames(ENVELOPE_NAMES);
const MCP = knownNames(MCP_NAMES);

// The end of the frame's JSON text (the line end excluded), for every scan below.
let end = 0;

// Small enough to be inlined wherever it is called: most often there is no whitespace at all.
function skipWhitespace(b: Buffer, i: number): number {
  return b[i]! > SPACE ? i : skipSomeWhitespace(b, i);
}

function skipSomeWhitespace(b: Buffer, i: number): number {
  for (; i < end; i++) {
    const c = b[i];
    if (c === SPACE || c === TAB) continue;
    if (c === CR) throw new Ambiguous('a carriage return inside the frame (universal-newline readers end a line there)');
    if (c === LF) throw new Ambiguous('a line feed inside the frame');
    break;
  }
  return i;
}

// Set when a string held a non-ASCII byte: then the frame's UTF-8 is checked whole (one native
// pass); a frame of plain ASCII (bytes outside strings are JSON's ASCII grammar) needs no check.
let unseenBytes = false;
// Set when a string went to the SIMD scan, which tells whether it passed a non-ASCII byte.
let usedLongScan = false;
// Set by scanString: whether the string it just scanned has an escape (keys and method names
// without one need no decoding).
let stringHadEscape = false;
// Set by scanString: whether the string has an ASCII capital or a non-ASCII byte (a name that may fold to another).
let stringMayFold = false;

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function hexUnit(b: Buffer, i: number): number {
  for (let k = i; k < i + 4; k++) if (!isHex(b[k]) || k >= end) throw new Malformed('a \\u escape needs four hex digits');
  return parseInt(b.toString('latin1', i, i + 4), 16);
}

/** Validates the escape at `i` (a backslash); returns the index after it. */
function scanEscape(b: Buffer, i: number): number {
  const c = b[i + 1];
  if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) return i + 2;
  if (c !== 0x75 /* u */) throw new Malformed(i + 1 >= end ? 'unterminated string' : `invalid escape '\\${String.fromCharCode(c ?? 0)}'`);
  const unit = hexUnit(b, i + 2);
  if (unit >= 0xdc00 && unit <= 0xdfff) throw new Ambiguous('an escape for a lone low surrogate (peers read it differently)');
  if (unit < 0xd800 || unit > 0xdbff) return i + 6;
  if (b[i + 6] !== BACKSLASH || b[i + 7] !== 0x75) throw new Ambiguous('an escape for a lone high surrogate (peers read it differently)');
  const low = hexUnit(b, i + 8);
  if (low < 0xdc00 || low > 0xdfff) throw new Ambiguous('an escape for a lone high surrogate (peers read it differently)');
  return i + 12;
}

function controlCharacter(c: number): Error {
  if (c === CR) return new Ambiguous('a carriage return inside a string (universal-newline readers end a line there)');
  return new Malformed(`control character 0x${c.toString(16).padStart(2, '0')} inside a string`);
}

/** Index just past the string that opens at `i`, validated. */
function scanString(b: Buffer, i: number): number {
  let j = i + 1;
  let escaped = false;
  let mayFold = false;
  for (;;) {
    // Near the frame's end, the loop goes on to it; else a longer string is handed to the SIMD scan.
    const inlineEnd = end - j <= LONG_STRING_BYTES ? end : j + INLINE_STRING_SCAN;
    while (j < inlineEnd) {
      const c = b[j]!;
      if (c > BACKSLASH) {
        // Lowercase letters and the rest of ASCII above `\`: the common case, first.
        if (c >= 0x80) {
          mayFold = true;
          unseenBytes = true;
        }
        j++;
      } else if (c > QUOTE && c !== BACKSLASH) {
        // Digits, punctuation, capitals.
        if (c >= 0x41) mayFold = true; // a capital (0x41-0x5a; `[` and `]` fold to nothing, but are rare)
        j++;
      } else if (c === QUOTE) {
        stringHadEscape = escaped;
        stringMayFold = mayFold || escaped;
        return j + 1;
      } else if (c === BACKSLASH) {
        escaped = true;
        j = scanEscape(b, j);
      } else if (c < 0x20) {
        throw controlCharacter(c);
      } else {
        j++; // space, `!`
      }
    }
    if (j >= end) throw new Malformed('unterminated string');
    // A long string: the SIMD scan finds the next byte to look at (and notes any non-ASCII byte).
    j = nextStringStop(b, j, end);
    mayFold = true; // not looked at byte by byte: long names are compared the slow way
    usedLongScan = true;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function bytesAre(b: Buffer, i: number, to: number, text: string): boolean {
  if (to - i !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** Index just past the number or literal at `i`: JSON's grammar exactly. */
function scanLiteral(b: Buffer, i: number): number {
  const first = b[i];
  if (first === 0x74) return literalWord(b, i, 'true');
  if (first === 0x66) return literalWord(b, i, 'false');
  if (first === 0x6e) return literalWord(b, i, 'null');
  let j = i;
  let exponent = false;
  if (b[j] === 0x2d /* - */) j++;
  if (b[j] === 0x30 /* 0 */) {
    j++;
  } else if (isDigit(b[j]) && j < end) {
    while (j < end && isDigit(b[j])) j++;
  } else {
    throw new Malformed(j >= end ? 'unexpected end of the frame' : `unexpected '${String.fromCharCode(b[j]!)}'`);
  }
  if (j < end && b[j] === 0x2e /* . */) {
    const digits = ++j;
    while (j < end && isDigit(b[j])) j++;
    if (j === digits) throw new Malformed('a number needs digits after its decimal point');
  }
  if (j < end && (b[j] === 0x65 || b[j] === 0x45) /* e E */) {
    j++;
    if (j < end && (b[j] === 0x2b || b[j] === 0x2d) /* + - */) j++;
    const digits = j;
    while (j < end && isDigit(b[j])) j++;
    if (j === digits) throw new Malformed('a number needs digits in its exponent');
    exponent = true;
  }
  // Past float64 (1e400): JavaScript and Python read Infinity, Go fails the frame. Only a number
  // with an exponent, or hundreds of digits, can get there: the check costs nothing otherwise.
  if ((exponent || j - i > 300) && !Number.isFinite(Number(b.toString('latin1', i, j)))) {
    throw new Ambiguous(`a number beyond the range of a double (${b.toString('latin1', i, Math.min(j, i + 24))}…): peers read it as Infinity or refuse it`);
  }
  return j;
}

function literalWord(b: Buffer, i: number, word: string): number {
  if (i + word.length > end || !bytesAre(b, i, i + word.length, word)) {
    throw new Malformed(`'${b.toString('latin1', i, Math.min(end, i + 16))}' is not a JSON value`);
  }
  return i + word.length;
}

// Member names of the objects open on the current path, for the duplicate check: where each
// stands, and whether it has an escape or may fold to another name. Shared: scans never run
// concurrently.
let keyStarts: Int32Array = new Int32Array(256);
let keyEnds: Int32Array = new Int32Array(256);
let keyFlags: Uint8Array = new Uint8Array(256);
const ESCAPED = 1, MAY_FOLD = 2;
let keyTop = 0;
/** Past this many members, an object's names are found through a map (no quadratic scan). */
const LINEAR_KEYS = 16;

function keyText(b: Buffer, start: number, stop: number, escaped: boolean): string {
  return escaped ? (JSON.parse(b.toString('utf8', start, stop)) as string) : b.toString('utf8', start + 1, stop - 1);
}

function growKeys(): void {
  const grow = (a: Int32Array): Int32Array => {
    const bigger = new Int32Array(a.length * 2);
    bigger.set(a);
    return bigger;
  };
  keyStarts = grow(keyStarts);
  keyEnds = grow(keyEnds);
  const flags = new Uint8Array(keyFlags.length * 2);
  flags.set(keyFlags);
  keyFlags = flags;
}

/** Whether the names at [start, stop) and of entry k are the same name (escapes decoded). */
function sameKey(b: Buffer, k: number, start: number, stop: number, escaped: boolean): boolean {
  const otherStart = keyStarts[k]!, otherEnd = keyEnds[k]!;
  const otherEscaped = (keyFlags[k]! & ESCAPED) !== 0;
  if (escaped || otherEscaped) return keyText(b, start, stop, escaped) === keyText(b, otherStart, otherEnd, otherEscaped);
  if (otherEnd - otherStart !== stop - start) return false;
  for (let m = 0; m < stop - start; m++) if (b[start + m] !== b[otherStart + m]) return false;
  return true;
}

// The decoded names of each object with more than LINEAR_KEYS, by where its names start.
const bigObjects = new Map<number, Set<string>>();

// With `folded`, each name is also kept folded (after a NUL, which no folded form starts with here).
function indexOf(b: Buffer, base: number, folded: boolean): Set<string> {
  let index = bigObjects.get(base);
  if (index === undefined) {
    index = new Set<string>();
    for (let k = base; k < keyTop; k++) {
      const name = keyText(b, keyStarts[k]!, keyEnds[k]!, (keyFlags[k]! & ESCAPED) !== 0);
      index.add(name);
      if (folded) index.add(`\u0000${foldCase(name)}`);
    }
    bigObjects.set(base, index);
  }
  return index;
}

/** The object whose names start at `base` closed. */
function closeObject(base: number): void {
  keyTop = base;
  if (bigObjects.size > 0) bigObjects.delete(base);
}

/**
 * Records the member name at [start, stop) of the object whose names start at `base`; throws
 * when the object already has it, when `names` are known there and it is a case variant of one,
 * or with `foldSiblings`, when another name of the object folds to the same.
 */
function addKey(b: Buffer, base: number, start: number, stop: number, escaped: boolean, mayFold: boolean, names: KnownNames | undefined, foldSiblings: boolean): void {
  const count = keyTop - base;
  if (count >= LINEAR_KEYS || escaped || (foldSiblings && mayFold)) {
    checkKeySlowly(b, base, start, stop, escaped, mayFold, foldSiblings);
  } else if (count > 0) {
    // The common case, kept small: plain names compared by length, then bytes.
    const length = stop - start;
    let flagged = 0;
    for (let k = base; k < keyTop; k++) {
      flagged |= keyFlags[k]!;
      const otherStart = keyStarts[k]!;
      if (keyEnds[k]! - otherStart !== length) continue;
      let same = true;
      for (let m = 1; m < length - 1; m++) {
        if (b[start + m] !== b[otherStart + m]) {
          same = false;
          break;
        }
      }
      if (same) throw duplicate(b, start, stop, escaped);
    }
    // A sibling with an escape, or one that may fold to this name: the careful comparison.
    if (flagged !== 0 && ((flagged & ESCAPED) !== 0 || foldSiblings)) checkKeySlowly(b, base, start, stop, escaped, mayFold, foldSiblings);
  }
  if (names !== undefined) {
    if (mayFold) {
      checkKnownName(b, start, stop, escaped, names);
    } else {
      const length = stop - start - 2;
      if (length < 64 && names.lowerGate[length * 128 + b[start + 1]!] === 1) {
        const spelled = spellsOneOf(b, start + 1, names.lowerByLength[length]!);
        if (spelled !== undefined) throw knownNameVariant(spelled, names.folded.get(spelled)!);
      }
    }
  }
  if (keyTop === keyStarts.length) growKeys();
  keyStarts[keyTop] = start;
  keyEnds[keyTop] = stop;
  keyFlags[keyTop] = (escaped ? ESCAPED : 0) | (mayFold ? MAY_FOLD : 0);
  keyTop++;
}

function checkKeySlowly(b: Buffer, base: number, start: number, stop: number, escaped: boolean, mayFold: boolean, foldSiblings: boolean): void {
  if (keyTop - base < LINEAR_KEYS) {
    let folded: string | undefined;
    for (let k = base; k < keyTop; k++) {
      if (sameKey(b, k, start, stop, escaped)) throw duplicate(b, start, stop, escaped);
      // Only a name with a capital or a non-ASCII character (or an escape) folds to another.
      if (foldSiblings && (mayFold || (keyFlags[k]! & MAY_FOLD) !== 0)) {
        folded ??= foldCase(keyText(b, start, stop, escaped));
        const other = keyText(b, keyStarts[k]!, keyEnds[k]!, (keyFlags[k]! & ESCAPED) !== 0);
        if (foldCase(other) === folded) throw caseVariants(other, keyText(b, start, stop, escaped));
      }
    }
    return;
  }
  const index = indexOf(b, base, foldSiblings);
  const name = keyText(b, start, stop, escaped);
  if (index.has(name)) throw duplicate(b, start, stop, escaped);
  index.add(name);
  if (foldSiblings) {
    const folded = `\u0000${foldCase(name)}`;
    if (index.has(folded)) throw caseVariants(undefined, name);
    index.add(folded);
  }
}

function checkKnownName(b: Buffer, start: number, stop: number, escaped: boolean, names: KnownNames): void {
  const name = keyText(b, start, stop, escaped);
  const canonical = names.folded.get(foldCase(name));
  if (canonical !== undefined && canonical !== name) throw knownNameVariant(name, canonical);
}

function knownNameVariant(name: string, canonical: string): Ambiguous {
  return new Ambiguous(`member ${JSON.stringify(name)} is ${JSON.stringify(canonical)} to peers that match names without case (Go's encoding/json)`);
}

function caseVariants(first: string | undefined, second: string): Ambiguous {
  const which = first === undefined ? `member ${JSON.stringify(second)} and another` : `members ${JSON.stringify(first)} and ${JSON.stringify(second)}`;
  return new Ambiguous(`${which} differ only in case: peers that match names without case (Go's encoding/json) read them as one`);
}

function duplicate(b: Buffer, start: number, stop: number, escaped: boolean): Ambiguous {
  return new Ambiguous(`member ${JSON.stringify(keyText(b, start, stop, escaped))} appears twice in one object (peers keep the first or the last)`);
}

// The containers open in the current scan: what closes each, and where its member names start
// on the key stack. One loop with its own stack, not a call per value: a frame's cost is its bytes.
let closers: Uint8Array = new Uint8Array(64);
let keyBases: Int32Array = new Int32Array(64);

function growContainers(): void {
  const bigger = new Uint8Array(closers.length * 2);
  bigger.set(closers);
  closers = bigger;
  const bases = new Int32Array(keyBases.length * 2);
  bases.set(keyBases);
  keyBases = bases;
}

/**
 * Validates the value at `i`, `depth` containers deep; returns the index after it. `names`:
 * member names that must not appear as case variants in it, when it is an object.
 */
function scanValue(b: Buffer, i: number, depth: number, names?: KnownNames, foldAll = false): number {
  let c = b[i];
  if (c === QUOTE) return scanString(b, i);
  if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    if (i >= end) throw new Malformed('unexpected end of the frame');
    return scanLiteral(b, i);
  }
  let open = 0;
  for (;;) {
    // A container opens at i (c is `{` or `[`).
    if (depth + open >= MAX_NESTING) throw new Malformed(`nesting deeper than ${MAX_NESTING}`);
    if (depth + open >= deepest) deepest = depth + open + 1;
    if (open === closers.length) growContainers();
    const isObject = c === OPEN_BRACE;
    closers[open] = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
    keyBases[open] = keyTop;
    open++;
    i = skipWhitespace(b, i + 1);
    if (i < end && b[i] === closers[open - 1]) {
      i++;
      open--;
      closeObject(keyBases[open]!);
    } else {
      if (isObject) i = scanMemberName(b, i, keyBases[open - 1]!, open === 1 ? names : undefined, foldAll);
      c = b[i];
      if (c === OPEN_BRACE || c === OPEN_BRACKET) continue;
      i = c === QUOTE ? scanString(b, i) : i < end ? scanLiteral(b, i) : fail('unexpected end of the frame');
    }
    // After a value (or a container that closed): a comma and the next, or closers.
    for (;;) {
      if (open === 0) return i;
      i = skipWhitespace(b, i);
      c = b[i];
      if (i >= end) throw new Malformed('unterminated object or array');
      if (c === COMMA) {
        i = skipWhitespace(b, i + 1);
        if (closers[open - 1] === CLOSE_BRACE) i = scanMemberName(b, i, keyBases[open - 1]!, open === 1 ? names : undefined, foldAll);
        c = b[i];
        if (c === OPEN_BRACE || c === OPEN_BRACKET) break;
        i = c === QUOTE ? scanString(b, i) : i < end ? scanLiteral(b, i) : fail('unexpected end of the frame');
      } else if (c === closers[open - 1]) {
        i++;
        open--;
        closeObject(keyBases[open]!);
      } else {
        throw new Malformed(`expected ',' or '${String.fromCharCode(closers[open - 1]!)}', found '${String.fromCharCode(c!)}'`);
      }
    }
  }
}

function fail(message: string): never {
  throw new Malformed(message);
}

/** Reads a member name and its colon at `i` (in the object whose names start at keyBases[top]); returns where its value starts. */
function scanMemberName(b: Buffer, i: number, base: number, names: KnownNames | undefined, foldSiblings: boolean): number {
  if (b[i] !== QUOTE || i >= end) throw new Malformed('expected a quoted member name');
  const keyEnd = scanString(b, i);
  addKey(b, base, i, keyEnd, stringHadEscape, stringMayFold, names, foldSiblings);
  i = skipWhitespace(b, keyEnd);
  if (b[i] !== COLON || i >= end) throw new Malformed('expected \':\' after a member name');
  return skipWhitespace(b, i + 1);
}

// The top-level keys that matter, told apart by length and bytes (no decoding, no native compare).
const KEY_OTHER = 0, KEY_ID = 1, KEY_METHOD = 2, KEY_RESULT = 3, KEY_ERROR = 4, KEY_PARAMS = 5, KEY_JSONRPC = 6;
type KeyKind = typeof KEY_OTHER | typeof KEY_ID | typeof KEY_METHOD | typeof KEY_RESULT | typeof KEY_ERROR | typeof KEY_PARAMS | typeof KEY_JSONRPC;

function keyKind(b: Uint8Array, start: number, stop: number): KeyKind {
  switch (stop - start) {
    case 2:
      return b[start] === 0x69 && b[start + 1] === 0x64 ? KEY_ID : KEY_OTHER;
    case 5:
      return bytesAre(b as Buffer, start, stop, 'error') ? KEY_ERROR : KEY_OTHER;
    case 6:
      if (b[start] === 0x6d) return bytesAre(b as Buffer, start, stop, 'method') ? KEY_METHOD : KEY_OTHER;
      if (b[start] === 0x70) return bytesAre(b as Buffer, start, stop, 'params') ? KEY_PARAMS : KEY_OTHER;
      return b[start] === 0x72 && bytesAre(b as Buffer, start, stop, 'result') ? KEY_RESULT : KEY_OTHER;
    case 7:
      return bytesAre(b as Buffer, start, stop, 'jsonrpc') ? KEY_JSONRPC : KEY_OTHER;
    default:
      return KEY_OTHER;
  }
}

// Short ASCII ids (numbers, most string ids) are built in JS, which costs less than a native
// decode; anything else is decoded as UTF-8. (Not String(number) for integer ids, though it
// is cheaper to build and to hash: V8 keeps each such string in its number-string cache, so
// every id survives the young generation; measured: +40 MB RSS at 64 calls in flight.)
const SHORT_ID_CHARS = 12;

function readIdText(b: Buffer, start: number, stop: number): string {
  if (stop - start <= SHORT_ID_CHARS) {
    let high = 0;
    for (let k = start; k < stop; k++) high |= b[k]!;
    if (high < 0x80) return shortAsciiText(b, start, stop - start);
  }
  return b.toString('utf8', start, stop);
}

/** The text of `n` (1 to 15) ASCII bytes at `s`: up to 8, one new string built at once (no concatenation). */
function shortAsciiText(b: Buffer, s: number, n: number): string {
  const f = String.fromCharCode;
  switch (n) {
    case 1: return f(b[s]!);
    case 2: return f(b[s]!, b[s + 1]!);
    case 3: return f(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4: return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5: return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6: return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7: return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8: return f(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    default: {
      let text = '';
      for (let k = s; k < s + n; k++) text += f(b[k]!);
      return text;
    }
  }
}

/**
 * The end of the plain integer id at `i` (`[1-9][0-9]{0,14}`, the whole number: no fraction or
 * exponent follows), whose text is its own key; 0 when the id is anything else (read the general way).
 */
function plainIntegerEnd(b: Buffer, i: number): number {
  const first = b[i]!;
  if (first < 0x31 || first > 0x39) return 0; // the byte at `end` is a line end or nothing: a digit is before it
  let j = i + 1;
  while (j < end && isDigit(b[j])) j++;
  if (j - i > 15) return 0;
  const c = b[j];
  return c === 0x2e || c === 0x65 || c === 0x45 ? 0 : j;
}

/** The key of a numeric id's text: the number a JSON.parse peer reads; throws when peers could read it differently. */
function numericIdKey(text: string): string {
  // `-?\d{1,15}` with no leading zero is already its own key (but `-0`).
  const negative = text.charCodeAt(0) === 0x2d;
  const digits = text.length - (negative ? 1 : 0);
  if (digits <= 15) {
    let plain = true;
    for (let k = negative ? 1 : 0; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c < 0x30 || c > 0x39) {
        plain = false;
        break;
      }
    }
    if (plain) return text === '-0' ? '0' : text;
  }
  const value = Number(text);
  if (!Number.isFinite(value) || Math.abs(value) > MAX_SAFE_ID) {
    throw new Ambiguous(`id ${text.length > 40 ? `${text.slice(0, 40)}…` : text} is beyond ±2^53: peers round it differently`);
  }
  return String(value);
}

/** The key of an id (JSON text of a string or number, validated), or throws Ambiguous. */
function idKeyOfText(b: Buffer, start: number, text: string, escaped: boolean): string {
  if (b[start] === QUOTE) return escaped ? JSON.stringify(JSON.parse(text)) : text;
  return numericIdKey(text);
}

// The method names seen last, kept as bytes and string: most frames name one of a few
// methods, and a match costs a short compare instead of decoding a new string.
const METHOD_CACHE_SIZE = 8;
const cachedMethodBytes: Buffer[] = [];
const cachedMethodNames: string[] = [];
let nextMethodSlot = 0;

function readMethod(b: Buffer, start: number, stop: number, escaped: boolean): string {
  // start/stop include the quotes; escapes (rare in method names) go through JSON.parse.
  if (escaped) return JSON.parse(b.toString('utf8', start, stop)) as string;
  const from = start + 1, to = stop - 1, length = to - from;
  outer: for (let slot = 0; slot < cachedMethodBytes.length; slot++) {
    const cached = cachedMethodBytes[slot]!;
    if (cached.length !== length) continue;
    for (let k = 0; k < length; k++) if (cached[k] !== b[from + k]) continue outer;
    return cachedMethodNames[slot]!;
  }
  const name = b.toString('utf8', from, to);
  if (length <= 64) {
    cachedMethodBytes[nextMethodSlot] = Buffer.from(b.subarray(from, to));
    cachedMethodNames[nextMethodSlot] = name;
    nextMethodSlot = (nextMethodSlot + 1) % METHOD_CACHE_SIZE;
  }
  return name;
}

// What the top-level object scan found; module state, like the rest of the scan.
let foundId: string | undefined;
let foundKey: string | undefined;
let foundMethod: string | undefined;
/** Where the message scanMessage read ends. */
let messageEnd = 0;
/** A message without `"jsonrpc": "2.0"`: 0 none, -1 the lone message, n batch member n. Refused after the JSON is checked whole. */
let versionMissing = 0;
/** Batch members read so far (for versionMissing). */
let batchMembers = 0;
/** Containers around a message's members: 1, or 2 inside a batch. */
let messageDepth = 1;
/** The deepest nesting of containers seen in the frame (the message object is 1): Envelope.depth. */
let deepest = 0;
/** Where the lone message's top-level id value and params value lie (-1: none), and the frame they are of (lastReadPositions). */
let idValueAt = -1;
let idValueEnd = -1;
let paramsValueAt = -1;
let positionsFrame: Buffer | undefined;
/**
 * Frames up to this size are remembered for lastReadPositions: the reference keeps the frame's
 * memory alive until the next read, so a large frame is not held by an idle session (a walk of a
 * large frame costs little beside its size anyway).
 */
const POSITIONS_MAX_FRAME = 64 * 1024;

/** Where a message's top-level `id` and `params` values lie in its bytes (-1: absent). */
export interface MessagePositions {
  idStart: number;
  idEnd: number;
  paramsStart: number;
}

/**
 * Where the frame readEnvelope read last (a lone message, read without a problem) has its
 * top-level `id` value and `params` value, when `line` is that frame, the same Buffer object: a
 * reader further along the same synchronous path (the gateway's routing) then need not walk the
 * frame again. False for any other buffer (another frame was read since, or `line` is a rewrite):
 * the caller walks the bytes itself; false too for a frame over 64 KiB (not held between reads).
 * Written into `out` (no object per frame).
 */
export function lastReadPositions(line: Buffer, out: MessagePositions): boolean {
  if (line !== positionsFrame) return false;
  out.idStart = idValueAt;
  out.idEnd = idValueEnd;
  out.paramsStart = paramsValueAt;
  return true;
}

const MISSING_VERSION = '"jsonrpc": "2.0" is missing';

/** Whether the value at `start`..`end` is the string "2.0" (escapes decoded: every parser reads `"2\u002e0"` as "2.0"). */
function isVersion20(b: Buffer, start: number, end: number): boolean {
  if (b[start] !== QUOTE) return false;
  if (end - start === 5) return b[start + 1] === 0x32 && b[start + 2] === 0x2e && b[start + 3] === 0x30 && b[start + 4] === QUOTE;
  try {
    return JSON.parse(b.toString('utf8', start, end)) === '2.0';
  } catch {
    return false;
  }
}

/** Whether `"jsonrpc":"2.0",` stands at `i` (unrolled: one compare a byte, no loop over a table). */
function jsonrpcMemberAt(b: Buffer, i: number): boolean {
  return end - i >= 16 &&
    b[i] === 0x22 && b[i + 1] === 0x6a && b[i + 2] === 0x73 && b[i + 3] === 0x6f && b[i + 4] === 0x6e &&
    b[i + 5] === 0x72 && b[i + 6] === 0x70 && b[i + 7] === 0x63 && b[i + 8] === 0x22 && b[i + 9] === 0x3a &&
    b[i + 10] === 0x22 && b[i + 11] === 0x32 && b[i + 12] === 0x2e && b[i + 13] === 0x30 && b[i + 14] === 0x22 &&
    b[i + 15] === 0x2c;
}

/**
 * The kind of the member name that opens (with its quote) at `i` when it is exactly one of the
 * envelope's names, unescaped, closing quote included; else KEY_OTHER (then the name is read the
 * general way, which finds any of them too). The closing quote is never past `end`: the byte at
 * `end` is a line end or nothing.
 */
function plainEnvelopeKey(b: Buffer, i: number): KeyKind {
  switch (b[i + 1]) {
    case 0x69: // id
      return b[i + 2] === 0x64 && b[i + 3] === QUOTE ? KEY_ID : KEY_OTHER;
    case 0x6d: // method
      return b[i + 2] === 0x65 && b[i + 3] === 0x74 && b[i + 4] === 0x68 && b[i + 5] === 0x6f && b[i + 6] === 0x64 && b[i + 7] === QUOTE ? KEY_METHOD : KEY_OTHER;
    case 0x70: // params
      return b[i + 2] === 0x61 && b[i + 3] === 0x72 && b[i + 4] === 0x61 && b[i + 5] === 0x6d && b[i + 6] === 0x73 && b[i + 7] === QUOTE ? KEY_PARAMS : KEY_OTHER;
    case 0x72: // result
      return b[i + 2] === 0x65 && b[i + 3] === 0x73 && b[i + 4] === 0x75 && b[i + 5] === 0x6c && b[i + 6] === 0x74 && b[i + 7] === QUOTE ? KEY_RESULT : KEY_OTHER;
    case 0x65: // error
      return b[i + 2] === 0x72 && b[i + 3] === 0x72 && b[i + 4] === 0x6f && b[i + 5] === 0x72 && b[i + 6] === QUOTE ? KEY_ERROR : KEY_OTHER;
    case 0x6a: // jsonrpc
      return b[i + 2] === 0x73 && b[i + 3] === 0x6f && b[i + 4] === 0x6e && b[i + 5] === 0x72 && b[i + 6] === 0x70 && b[i + 7] === 0x63 && b[i + 8] === QUOTE ? KEY_JSONRPC : KEY_OTHER;
    default:
      return KEY_OTHER;
  }
}
/** By kind: the length of an envelope name with its quotes. */
const KEY_QUOTED_LENGTH = new Int32Array([0, 4, 8, 8, 7, 8, 9]);

/** Scans one JSON-RPC message object at `i`; returns its kind and the index after it. */
function scanMessage(b: Buffer, i: number): Exclude<FrameKind, 'batch'> {
  if (messageDepth > deepest) deepest = messageDepth;
  foundId = undefined;
  foundKey = undefined;
  foundMethod = undefined;
  let hasResult = false, hasError = false, idIsNull = false;
  // The envelope's own members, one bit each: a second one is a duplicate. Other names go on the key stack.
  let seen = 0;
  const base = keyTop;
  i = skipWhitespace(b, i + 1);
  if (b[i] === CLOSE_BRACE && i < end) {
    i++;
  } else {
    // Most frames open with exactly this member and a comma: taken as one (a name must still follow).
    if (jsonrpcMemberAt(b, i)) {
      seen = 1 << KEY_JSONRPC;
      i = skipWhitespace(b, i + 16);
    }
    for (;;) {
      if (b[i] !== QUOTE || i >= end) throw new Malformed('expected a quoted member name');
      const keyStart = i;
      let kind: KeyKind = plainEnvelopeKey(b, i);
      let keyEnd: number;
      let keyEscaped = false;
      if (kind !== KEY_OTHER) {
        keyEnd = i + KEY_QUOTED_LENGTH[kind]!;
      } else {
        keyEnd = scanString(b, i);
        keyEscaped = stringHadEscape;
        // Escaped names are decoded, so `"\u006dethod"` cannot slip a method past a rule.
        if (keyEscaped) {
          const decoded = Buffer.from(keyText(b, keyStart, keyEnd, true));
          kind = keyKind(decoded, 0, decoded.length);
        } else {
          kind = keyKind(b, keyStart + 1, keyEnd - 1);
        }
      }
      if (kind !== KEY_OTHER) {
        if ((seen & (1 << kind)) !== 0) {
          if (kind === KEY_ID) foundId = foundKey = undefined; // which one a peer answers is unknown
          throw duplicate(b, keyStart, keyEnd, keyEscaped);
        }
        seen |= 1 << kind;
      } else {
        if (stringMayFold && foundId !== undefined && foldCase(keyText(b, keyStart, keyEnd, keyEscaped)) === 'id') foundId = foundKey = undefined;
        addKey(b, base, keyStart, keyEnd, keyEscaped, stringMayFold, ENVELOPE, true);
      }
      i = skipWhitespace(b, keyEnd);
      if (b[i] !== COLON || i >= end) throw new Malformed('expected \':\' after a member name');
      const valueStart = skipWhitespace(b, i + 1);
      let valueEnd: number;
      if (kind === KEY_PARAMS || kind === KEY_RESULT || kind === KEY_ERROR) {
        // In `params` (what the server acts on: arguments decoded into structs), no two names may
        // fold to one; in a result, data may hold such names (file names, say) and passes.
        if (kind === KEY_PARAMS) paramsValueAt = valueStart;
        valueEnd = scanValue(b, valueStart, messageDepth, MCP, kind === KEY_PARAMS);
        if (kind === KEY_RESULT) hasResult = true;
        else if (kind === KEY_ERROR) hasError = true;
      } else if (kind === KEY_ID && (valueEnd = plainIntegerEnd(b, valueStart)) !== 0) {
        // A plain integer (most ids): its text is its key, read once.
        foundId = foundKey = shortAsciiText(b, valueStart, valueEnd - valueStart);
        idValueAt = valueStart;
        idValueEnd = valueEnd;
      } else {
        valueEnd = scanValue(b, valueStart, messageDepth);
        if (kind === KEY_ID) {
          idValueAt = valueStart;
          idValueEnd = valueEnd;
        }
        if (kind === KEY_ID) {
          const first = b[valueStart];
          const text = readIdText(b, valueStart, valueEnd);
          if (first === QUOTE || first === 0x2d || isDigit(first)) {
            foundKey = idKeyOfText(b, valueStart, text, first === QUOTE && stringHadEscape);
            foundId = text;
          } else if (text === 'null') {
            // Only an error response may carry it (to a frame whose id could not be read); it keys nothing.
            idIsNull = true;
            foundId = text;
          } else {
            throw new NotJsonRpc('"id" must be a string or a number');
          }
        } else if (kind === KEY_METHOD) {
          if (b[valueStart] !== QUOTE) throw new NotJsonRpc('"method" must be a string');
          foundMethod = readMethod(b, valueStart, valueEnd, stringHadEscape);
        } else if (kind === KEY_JSONRPC && !isVersion20(b, valueStart, valueEnd)) {
          throw new NotJsonRpc('"jsonrpc" must be "2.0"');
        }
      }
      i = skipWhitespace(b, valueEnd);
      if (i >= end) throw new Malformed('unterminated object');
      if (b[i] === COMMA) {
        i = skipWhitespace(b, i + 1);
        continue;
      }
      if (b[i] === CLOSE_BRACE) {
        i++;
        break;
      }
      throw new Malformed(`expected ',' or '}', found '${String.fromCharCode(b[i]!)}'`);
    }
  }
  keyTop = base;
  // Without it, SDKs that validate (the MCP SDKs do) drop the frame while a lenient peer acts on
  // it: two readings, so it is refused (once the whole frame is known to be JSON: see versionMissing).
  if ((seen & (1 << KEY_JSONRPC)) === 0 && versionMissing === 0) versionMissing = messageDepth === 1 ? -1 : batchMembers + 1;
  if (foundMethod !== undefined) {
    // A request's id is echoed in its response: null cannot be, and SDKs read such a frame as a notification.
    if (idIsNull) throw new NotJsonRpc('a request\'s "id" must be a string or a number, not null');
    messageEnd = i;
    return foundId === undefined ? 'notification' : 'request';
  }
  if (hasResult && hasError) throw new NotJsonRpc('a response has "result" or "error", not both');
  messageEnd = i;
  if (hasResult) return 'response';
  if (hasError) return 'error';
  throw new NotJsonRpc('no "method", "result" or "error"');
}

/** The length of the frame's JSON text: without its `\n` or `\r\n`. */
function contentLength(b: Buffer): number {
  let n = b.length;
  if (n > 0 && b[n - 1] === LF) {
    n--;
    if (n > 0 && b[n - 1] === CR) n--;
  }
  return n;
}

function problemOf(error: unknown, id: string | undefined, key: string | undefined, method: string | undefined): EnvelopeProblem {
  if (error instanceof NotJsonRpc) return { kind: 'invalid', problem: 'not_jsonrpc', detail: error.message, id, key, method };
  if (error instanceof Ambiguous) return { kind: 'invalid', problem: 'ambiguous', detail: error.message, id, key, method };
  if (error instanceof Malformed) return { kind: 'invalid', problem: 'parse', detail: error.message, id, key, method };
  // A RangeError from a nesting this scan did not expect, or anything else: never a crash.
  return { kind: 'invalid', problem: 'parse', detail: error instanceof Error ? error.message : String(error), id, key, method };
}

/** Reads and validates one frame (the bytes of one line, its `\n` or `\r\n` included or not). */
export function readEnvelope(b: Buffer): EnvelopeResult {
  end = contentLength(b);
  positionsFrame = undefined;
  idValueAt = idValueEnd = paramsValueAt = -1;
  keyTop = 0;
  if (bigObjects.size > 0) bigObjects.clear();
  unseenBytes = false;
  usedLongScan = false;
  foundId = foundKey = foundMethod = undefined;
  deepest = 0;
  versionMissing = 0;
  try {
    let i = skipWhitespace(b, 0);
    if (i === end) return { kind: 'invalid', problem: 'blank', detail: 'blank line', id: undefined };
    if (b[i] === OPEN_BRACKET) return checkUtf8(b, readBatch(b, i));
    if (b[i] !== OPEN_BRACE) {
      i = skipWhitespace(b, scanValue(b, i, 0));
      if (i !== end) throw new Malformed('unexpected data after the value');
      return checkUtf8(b, { kind: 'invalid', problem: 'not_jsonrpc', detail: 'a JSON-RPC message must be an object', id: undefined });
    }
    const kind = scanMessage(b, i);
    if (skipWhitespace(b, messageEnd) !== end) throw new Malformed('unexpected data after the object');
    if (versionMissing !== 0) throw new NotJsonRpc(MISSING_VERSION);
    const read = checkUtf8(b, { kind, id: foundId, key: foundKey, method: foundMethod, depth: deepest });
    if (read.kind !== 'invalid' && b.length <= POSITIONS_MAX_FRAME) positionsFrame = b;
    return read;
  } catch (error) {
    return checkUtf8(b, problemOf(error, foundId, foundKey, foundMethod));
  }
}

// Bytes outside strings were all checked to be JSON's ASCII grammar; bytes inside strings were
// seen one by one (and all ASCII), or the whole frame is checked here in one native pass.
function checkUtf8(b: Buffer, result: EnvelopeResult): EnvelopeResult {
  if (usedLongScan) {
    if (passedNonAscii) unseenBytes = true;
    resetStringScan(); // the SIMD scan may hold this frame: let it go
  }
  if (!unseenBytes || isAscii(b) || isUtf8(b)) return result;
  const detail = 'the frame is not valid UTF-8';
  // A batch: every member owes its answer, exactly as a refused batch answers them.
  if (result.kind === 'batch') {
    const members = result.members!;
    const requests = members.filter((m) => m.kind === 'request').map((m) => ({ id: m.id!, key: m.key!, method: m.method! }));
    const responses = members.flatMap((m) => ((m.kind === 'response' || m.kind === 'error') && m.key !== undefined ? [m.key] : []));
    return { kind: 'invalid', problem: 'parse', detail, id: undefined, requests: requests.filter((r) => !r.id.includes('\uFFFD')), responses };
  }
  if (result.kind === 'invalid' && result.requests !== undefined) {
    return { kind: 'invalid', problem: 'parse', detail, id: undefined, requests: result.requests.filter((r) => !r.id.includes('\uFFFD')), responses: result.responses };
  }
  // An id read before the fault is still echoed (its client waits for it), unless the bad bytes were in it.
  const keep = result.key !== undefined && result.id !== undefined && !result.id.includes('\uFFFD');
  return { kind: 'invalid', problem: 'parse', detail, id: keep ? result.id : undefined, key: keep ? result.key : undefined, method: keep ? result.method : undefined };
}

// Batches (2025-03-26 only, rare): each member is read exactly as a lone frame is, in place.
function readBatch(b: Buffer, i: number): EnvelopeResult {
  const members: BatchMember[] = [];
  const requests: Array<{ id: string; key: string; method: string }> = [];
  messageDepth = 2;
  batchMembers = 0;
  try {
    i = skipWhitespace(b, i + 1);
    if (b[i] === CLOSE_BRACKET && i < end) {
      if (skipWhitespace(b, i + 1) !== end) throw new Malformed('unexpected data after the batch');
      return { kind: 'invalid', problem: 'not_jsonrpc', detail: 'an empty batch', id: undefined };
    }
    for (;;) {
      if (b[i] !== OPEN_BRACE || i >= end) {
        scanValue(b, i, 1);
        throw new NotJsonRpc(`batch member ${members.length + 1} is not an object`);
      }
      let kind: Exclude<FrameKind, 'batch'>;
      try {
        kind = scanMessage(b, i);
      } catch (error) {
        if (error instanceof Error) error.message = `batch member ${members.length + 1}: ${error.message}`;
        throw error;
      }
      members.push({ kind, id: foundId, key: foundKey, method: foundMethod, bytes: b.subarray(i, messageEnd) });
      batchMembers = members.length;
      if (kind === 'request') requests.push({ id: foundId!, key: foundKey!, method: foundMethod! });
      i = skipWhitespace(b, messageEnd);
      if (i >= end) throw new Malformed('unterminated batch');
      if (b[i] === COMMA) {
        i = skipWhitespace(b, i + 1);
        continue;
      }
      if (b[i] === CLOSE_BRACKET) break;
      throw new Malformed(`expected ',' or ']', found '${String.fromCharCode(b[i]!)}'`);
    }
    if (skipWhitespace(b, i + 1) !== end) throw new Malformed('unexpected data after the batch');
    if (versionMissing > 0) throw new NotJsonRpc(`batch member ${versionMissing}: ${MISSING_VERSION}`);
    return { kind: 'batch', id: undefined, key: undefined, method: undefined, members, depth: deepest };
  } catch (error) {
    const responses = members.flatMap((m) => ((m.kind === 'response' || m.kind === 'error') && m.key !== undefined ? [m.key] : []));
    idsAfterFault(b, members.length, requests, responses);
    return { ...problemOf(error, undefined, undefined, undefined), requests, responses };
  } finally {
    messageDepth = 1;
  }
}

/**
 * A batch refused at member `from`: the ids of that member and those after it, so each can be
 * answered (a request) or settled (a response). The failing member's id, if it was read before
 * the fault, is taken as written; the rest are read with JSON.parse when the batch parses at all
 * (a member with `result` or `error` and no `method` is a response; any other with an id, a request).
 */
function idsAfterFault(b: Buffer, from: number, requests: Array<{ id: string; key: string; method: string }>, responses: string[]): void {
  const readId = foundId, readKey = foundKey, readMethod = foundMethod;
  let items: unknown;
  try {
    items = JSON.parse(b.toString('utf8'));
  } catch {
    items = undefined;
  }
  if (!Array.isArray(items)) {
    // Not JSON at all: only the failing member's id, if read, can be answered.
    if (readId !== undefined && readKey !== undefined) requests.push({ id: readId, key: readKey, method: readMethod ?? '(unreadable)' });
    return;
  }
  for (let index = from; index < items.length; index++) {
    const item = items[index] as Record<string, unknown> | null;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const key = idKeyOfValue(item.id);
    if (key === undefined) continue;
    // The failing member's id as written, when the scan read it before the fault.
    const id = index === from && readKey === key ? readId! : JSON.stringify(item.id);
    const isResponse = typeof item.method !== 'string' && (Object.hasOwn(item, 'result') || Object.hasOwn(item, 'error'));
    if (isResponse) responses.push(key);
    else requests.push({ id, key, method: typeof item.method === 'string' ? item.method : '(unreadable)' });
  }
}

/** The full body of a frame, for the rules that need it. */
export function parseFrameBody(raw: Buffer): unknown {
  return JSON.parse(raw.toString('utf8'));
}
