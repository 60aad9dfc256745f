// The redact rule's look at a frame's bytes before any parse. Every built-in detector needs an
// ASCII anchor in the text it scans (`-----BEGIN `, `AKIA`/`ASIA`, `gh?_`/`github_pat_`, `eyJ`,
// `bearer` in any case, and `=` or `:` for a password assignment). When the line is valid JSON
// and no string value in it could hold an anchor, no detector can find anything in any text the
// rule would scan, and the rule continues without parsing the frame. Anything else (an anchor, a
// string that ends in the first letters of one and is followed by another string - a secret may
// be split across items -, a key with escapes, deep nesting, a custom pattern, invalid JSON) is
// "don't know": the rule parses and scans as always. So the answer is the same either way; only
// the work differs.
//
// The strings the rule joins are those of one list's items, in the list's order (content[].text,
// items[*].part in structuredContent): JSON.parse keeps that order, whatever it does with the
// members of one object (`"1"` first, a repeated key at its first place). So a string joined
// after another is always written after it, and "followed by another string" covers every join.
//
// Why the bytes can stand for the text: a string without backslashes decodes to its bytes
// (UTF-8), and an ASCII anchor occurs in the decoded text exactly where its bytes occur in the
// line (bytes of multi-byte characters, and of invalid sequences, are all >= 0x80). Strings with
// escapes are decoded (JSON.parse of the string alone) and checked as text. Keys are never
// scanned by the rule, so they are not checked. The validation is JSON.parse's grammar exactly,
// or stricter (a "don't know"): whitespace is space, tab, CR, LF; no control character in a
// string; numbers by JSON's grammar; nothing after the value.
import type { DetectorName } from '../document/document.js';
import { REDACTION_SCAN_WASM } from './redaction-scan-wasm.js';

/** What the enabled built-in detectors need to find anything. */
export interface Anchors {
  /** Case-sensitive ASCII anchors. */
  readonly exact: readonly string[];
  /** ASCII anchors matched in any case (lower-case here). */
  readonly anyCase: readonly string[];
  /** `=` or `:` anywhere in a text (password-assignment). */
  readonly separators: boolean;
}

const DETECTOR_ANCHORS: Readonly<Record<DetectorName, Anchors>> = {
  'private-key': { exact: ['-----BEGIN '], anyCase: [], separators: false },
  'aws-access-key': { exact: ['AKIA', 'ASIA'], anyCase: [], separators: false },
  'github-token': { exact: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'], anyCase: [], separators: false },
  jwt: { exact: ['eyJ'], anyCase: [], separators: false },
  'bearer-token': { exact: [], anyCase: ['bearer'], separators: false },
  'password-assignment': { exact: [], anyCase: [], separators: true },
};

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a, EQUALS = 0x3d;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const MAX_DEPTH = 512;
/** The kinds of byte pairs in RedactionPrefilter's pair table (0: neither). */
const MAY_START = 1, STOP = 2;
const EMPTY = Buffer.alloc(0);
// Strings up to this many bytes are checked byte by byte (all strings in a line's last
// SIMD_MIN_BYTES); longer ones with native searches.
const SHORT_STRING = 64;
// Long strings are searched in pieces of this many bytes (young-generation strings), overlapping
// by one less than the longest needle.
const CHUNK = 32 * 1024;

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

interface Needle {
  readonly bytes: readonly number[]; // lower-case for anyCase
  readonly text: string;
  readonly anyCase: boolean;
  readonly regex: RegExp | undefined; // anyCase: /needle/i (ASCII letters: the same as comparing lower-cased ASCII)
  /** A byte of the needle that is rare in text (`_`, `-`), looked for first in long strings; 0: none. */
  readonly key: number;
}

const KEY_BYTES = [0x5f /* _ */, 0x2d /* - */];

// The long-string search: one SIMD pass (WebAssembly) over a string's bytes that stops at the
// first place an anchor may start, or at a stop byte (a control character, a quote, a
// backslash): ~0.25 ms a MiB, where a regular expression over the text takes ~1 ms, and more
// with every any-case needle. A filter after the Teddy algorithm: each needle's first three
// bytes (both cases of an any-case letter; any byte past a shorter needle's end) are recorded
// in nibble tables, a bit per bucket of needles; a position whose three bytes have a bucket in
// common is a candidate, and #anchorAt decides. The tables over-approximate (the nibbles of the
// needles of one bucket combine), never under-: a needle at p always makes p a candidate. The
// module is compiled on the first long string. Its source is redaction-scan.wat (scripts/build-wasm.mjs builds redaction-scan-wasm.ts from it).
/** Strings in the last this many bytes of a frame take the byte loops and native searches below: a small frame never compiles the module. */
const SIMD_MIN_BYTES = 2048;
/** Where the tables are (3 positions x low and high nibble x 16 bytes), and where a window of the bytes starts. */
const TABLES_AT = 0;
const TABLES_BYTES = 96;
const WINDOW_AT = 128;
const WINDOW_BYTES = 256 * 1024;
/** Bytes after a window the scan may read (a block of 16 and the two bytes after it); zeroed. */
const WINDOW_SLACK = 32;

interface AnchorScanner {
  /** The first candidate or stop byte in [from, end), or end. */
  readonly scan: (tables: number, from: number, end: number) => number;
  /** The first candidate in [from, end), or end. */
  readonly find: (tables: number, from: number, end: number) => number;
  /** The module's memory as a Buffer (copies into it allocate nothing). */
  readonly memory: Buffer;
}

// The few WebAssembly names used here (TypeScript's lib for Node has no WebAssembly types).
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { grow(pages: number): number; buffer: ArrayBuffer }; scan: AnchorScanner['scan']; find: AnchorScanner['find'] } };
}

let scanner: AnchorScanner | null | undefined;
/** The tables in the module's memory (of which prefilter: a policy reloaded makes new ones). */
let tablesIn: Buffer | undefined;
/** The bytes whose window is in the module's memory ([windowStart, windowEnd) of them), and up to where its results hold. */
let windowOf: Buffer | undefined;
let windowStart = 0;
let windowLimit = 0;

/** The SIMD scanner, or null where WebAssembly SIMD is not available (the regular expressions below do the same, slower). */
function anchorScanner(): AnchorScanner | null {
  if (scanner === undefined) {
    try {
      const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
      const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(REDACTION_SCAN_WASM, 'base64')));
      exports.memory.grow(Math.ceil((WINDOW_AT + WINDOW_BYTES + WINDOW_SLACK) / 65536) - 1);
      scanner = { scan: exports.scan, find: exports.find, memory: Buffer.from(exports.memory.buffer) };
    } catch {
      scanner = null;
    }
  }
  return scanner;
}

/** A scanner for one set of anchors: `clean(line)` is true only when no detector can match. */
export class RedactionPrefilter {
  readonly #needles: readonly Needle[];
  readonly #separators: boolean;
  /** One less than the longest needle: how far the pieces of a long string overlap. */
  readonly #overlap: number;
  /** The expressions made by #searchFor, by needle mask. */
  readonly #searches = new Map<number, RegExp>();
  /**
   * By the two bytes at a position (first << 8 | second): MAY_START when a needle may start
   * there (its first two bytes, both cases for anyCase; a one-byte needle or a separator with any
   * second byte), STOP when the first ends a short string's fast loop (a quote, a backslash, a
   * control byte). Most bytes of a text that may start a needle (`b`, `e`, `g`...) are not followed
   * by its second byte: one lookup rules them out where #anchorAt would try every needle.
   */
  readonly #pairs = new Uint8Array(65536);
  /** By byte: MAY_START when some pair starting with it has it, STOP as in #pairs. */
  readonly #firsts = new Uint8Array(256);
  /** By first byte (both cases for anyCase): the needles that start with it. */
  readonly #needlesByFirst: (readonly Needle[])[];
  /** By last byte: the proper prefixes of needles that end in it (a string ending so may start a split anchor). */
  readonly #prefixesByLast: (readonly (readonly number[])[])[] = [];
  readonly #anyCasePrefixesByLast: (readonly (readonly number[])[])[] = [];
  /** The SIMD scan's nibble tables for these needles (and `=`/`:` with separators), made on the first long string. */
  #tables: Buffer | undefined;

  // Per scan: the line, and whether a string that may start a split anchor was seen.
  #b: Buffer = EMPTY;
  #pendingSplit = false;
  /** The closing byte of each open container (a scan never nests in another). */
  readonly #stack = new Uint8Array(MAX_DEPTH);
  /**
   * For long strings: by byte value, where that byte next occurs at or after the last place it
   * was looked for (-1: nowhere after it), so that a frame costs one memchr per byte looked
   * for, however many long strings it has. Filled on the first long string of a scan.
   */
  readonly #next = new Int32Array(128);
  #nextFresh = false;

  constructor(anchors: Anchors) {
    this.#separators = anchors.separators;
    const keyOf = (bytes: readonly number[]): number => KEY_BYTES.find((key) => bytes.includes(key)) ?? 0;
    this.#needles = [
      ...anchors.exact.map((text) => {
        const bytes = [...Buffer.from(text, 'latin1')];
        return { text, bytes, anyCase: false, regex: undefined, key: keyOf(bytes) };
      }),
      ...anchors.anyCase.map((text) => {
        const bytes = [...Buffer.from(text.toLowerCase(), 'latin1')];
        return { text, bytes, anyCase: true, regex: new RegExp(text, 'i'), key: 0 };
      }),
    ];
    if (this.#needles.length > 30) throw new Error('at most 30 anchors'); // a bit each in a mask
    this.#overlap = Math.max(0, ...this.#needles.map((needle) => needle.bytes.length - 1));
    for (const needle of this.#needles) {
      if (needle.bytes.length === 0 || needle.bytes.length > CHUNK / 2) throw new Error(`anchor ${JSON.stringify(needle.text)} must be 1 to ${CHUNK / 2} bytes`);
      for (const c of needle.bytes) if (c >= 0x80) throw new Error(`anchor ${JSON.stringify(needle.text)} is not ASCII`);
    }
    const byFirst: Needle[][] = Array.from({ length: 256 }, () => []);
    const pairs = this.#pairs;
    const anySecond = (first: number): void => {
      pairs.fill(MAY_START, first << 8, (first + 1) << 8);
    };
    for (const needle of this.#needles) {
      const [first, second] = needle.bytes.map((c) => (needle.anyCase ? caseVariants(c) : [c]));
      for (const c of first!) {
        byFirst[c]!.push(needle);
        if (second === undefined) anySecond(c);
        else for (const d of second) pairs[(c << 8) | d] = MAY_START;
      }
    }
    if (this.#separators) {
      anySecond(EQUALS);
      anySecond(COLON);
    }
    for (let c = 0; c < 0x20; c++) pairs.fill(STOP, c << 8, (c + 1) << 8);
    pairs.fill(STOP, QUOTE << 8, (QUOTE + 1) << 8);
    pairs.fill(STOP, BACKSLASH << 8, (BACKSLASH + 1) << 8);
    for (let c = 0; c < 256; c++) this.#firsts[c] = pairs.subarray(c << 8, (c + 1) << 8).reduce((kinds, kind) => kinds | kind, 0);
    this.#needlesByFirst = byFirst;
    const exactByLast: (number[])[][] = Array.from({ length: 256 }, () => []);
    const anyByLast: (number[])[][] = Array.from({ length: 256 }, () => []);
    for (const needle of this.#needles) {
      for (let k = 1; k < needle.bytes.length; k++) {
        const prefix = needle.bytes.slice(0, k);
        const last = prefix[k - 1]!;
        if (needle.anyCase) {
          anyByLast[last]!.push(prefix);
          if (last >= 0x61 && last <= 0x7a) anyByLast[last - 0x20]!.push(prefix);
        } else {
          exactByLast[last]!.push(prefix);
        }
      }
    }
    this.#prefixesByLast = exactByLast;
    this.#anyCasePrefixesByLast = anyByLast;
  }

  /**
   * The SIMD scan's tables. A bucket accepts at position k any byte whose low nibble and high
   * nibble each occur at k in one of its needles: needles that share a bucket widen it, so
   * needles are grouped to keep the buckets narrow (fewer candidates for #anchorAt to reject):
   * first the needles whose first two bytes are the same (ASCII case folded), then, while there
   * are more groups than buckets, the two whose merge widens least.
   */
  #buildTables(): Buffer {
    const tables = Buffer.alloc(TABLES_BYTES);
    // A bucket: for each position, the low nibbles (bits 0-15) and the high nibbles (bits 16-31) it accepts.
    const ANY = 0xffffffff | 0;
    const add = (bucket: Int32Array, position: number, c: number | undefined): void => {
      bucket[position]! |= c === undefined ? ANY : (1 << (c & 15)) | (1 << (16 + (c >> 4))); // undefined: past the needle's end
    };
    // The share of uniformly random byte triples a bucket (or two merged) accepts.
    const width = (a: Int32Array, b: Int32Array | undefined): number => {
      let share = 1;
      for (let position = 0; position < 3; position++) {
        const bits = b === undefined ? a[position]! : a[position]! | b[position]!;
        share *= bitCount(bits & 0xffff) * bitCount(bits >>> 16) / 256;
      }
      return share;
    };
    const groups = new Map<string, Int32Array>();
    for (const needle of this.#needles) {
      const key = needle.text.slice(0, 2).toLowerCase();
      let bucket = groups.get(key);
      if (bucket === undefined) groups.set(key, bucket = new Int32Array(3));
      for (let position = 0; position < 3; position++) {
        const c = needle.bytes[position];
        add(bucket, position, c);
        if (needle.anyCase && c !== undefined && c >= 0x61 && c <= 0x7a) add(bucket, position, c - 0x20);
      }
    }
    const buckets = [...groups.values()];
    const widths = buckets.map((bucket) => width(bucket, undefined));
    const budget = this.#separators ? 7 : 8; // the separators take a bucket of their own
    while (buckets.length > budget) {
      let bestA = 0, bestB = 1, bestCost = Infinity;
      for (let a = 0; a < buckets.length; a++) {
        for (let b = a + 1; b < buckets.length; b++) {
          const cost = width(buckets[a]!, buckets[b]!) - widths[a]! - widths[b]!;
          if (cost < bestCost) [bestA, bestB, bestCost] = [a, b, cost];
        }
      }
      for (let position = 0; position < 3; position++) buckets[bestA]![position]! |= buckets[bestB]![position]!;
      widths[bestA] = width(buckets[bestA]!, undefined);
      buckets.splice(bestB, 1);
      widths.splice(bestB, 1);
    }
    if (this.#separators) {
      const separators = new Int32Array(3);
      add(separators, 0, EQUALS);
      add(separators, 0, COLON);
      add(separators, 1, undefined);
      add(separators, 2, undefined);
      buckets.push(separators);
    }
    buckets.forEach((bucket, n) => {
      for (let position = 0; position < 3; position++) {
        for (let nibble = 0; nibble < 16; nibble++) {
          if ((bucket[position]! & (1 << nibble)) !== 0) tables[position * 32 + nibble]! |= 1 << n;
          if ((bucket[position]! & (1 << (16 + nibble))) !== 0) tables[position * 32 + 16 + nibble]! |= 1 << n;
        }
      }
    });
    return tables;
  }

  /** Whether the SIMD scan is available here (else the slower regular-expression searches run). */
  static get simd(): boolean {
    return anchorScanner() !== null;
  }

  /**
   * Whether `accept` says true of an anchor (or separator) anywhere in `bytes` (JSON structure
   * or not), called with each one's index in order until it does; needs the SIMD scan (`simd`).
   */
  someAnchor(bytes: Buffer, accept: (at: number) => boolean): boolean {
    this.#b = bytes;
    windowOf = undefined;
    try {
      for (let at = 0; ;) {
        const candidate = this.#nextCandidate(at, false);
        if (candidate >= bytes.length) return false;
        if (this.#anchorAt(candidate) && accept(candidate)) return true;
        at = candidate + 1;
      }
    } finally {
      this.#b = EMPTY; // keep no frame alive
      windowOf = undefined;
    }
  }

  /** The anchors of these detectors, or undefined when any is not a built-in (a custom pattern). */
  static anchorsOf(names: readonly string[]): Anchors | undefined {
    const exact: string[] = [];
    const anyCase: string[] = [];
    let separators = false;
    for (const name of names) {
      const anchors = (DETECTOR_ANCHORS as Record<string, Anchors | undefined>)[name];
      if (anchors === undefined) return undefined;
      exact.push(...anchors.exact);
      anyCase.push(...anchors.anyCase);
      separators ||= anchors.separators;
    }
    return { exact, anyCase, separators };
  }

  /**
   * True only when `line` is valid JSON (JSON.parse would accept its UTF-8 text) and no string
   * value in it could give a detector a match, alone or joined with the strings after it.
   */
  clean(line: Buffer): boolean {
    this.#b = line;
    this.#pendingSplit = false;
    this.#nextFresh = false;
    windowOf = undefined;
    const clean = this.#scan(); // throws nothing: the one parse in it is caught
    this.#b = EMPTY; // keep no frame alive
    windowOf = undefined;
    return clean;
  }

  #scan(): boolean {
    const b = this.#b;
    const length = b.length;
    const stack = this.#stack;
    let depth = 0;
    let i = skipWhitespace(b, 0);
    for (;;) {
      // A value at i.
      const c = b[i];
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (depth === MAX_DEPTH) return false;
        stack[depth++] = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
        i = skipWhitespace(b, i + 1);
        if (b[i] === stack[depth - 1]) {
          depth--;
          i++;
        } else if (c === OPEN_BRACE) {
          i = this.#key(i);
          if (i === -1) return false;
          continue;
        } else {
          continue;
        }
      } else if (c === QUOTE) {
        i = this.#value(i);
        if (i === -1) return false;
      } else {
        i = literalEnd(b, i);
        if (i === -1) return false;
      }
      // After a value: a comma and the next member, a closing bracket, or the end.
      for (;;) {
        i = skipWhitespace(b, i);
        if (depth === 0) return i === length;
        const next = b[i];
        if (next === COMMA) {
          i = skipWhitespace(b, i + 1);
          if (stack[depth - 1] === CLOSE_BRACE) {
            i = this.#key(i);
            if (i === -1) return false;
          }
          break;
        }
        if (next !== stack[depth - 1]) return false;
        depth--;
        i++;
      }
    }
  }

  /** A key, its colon and the whitespace after it: the index of the value, or -1. */
  #key(i: number): number {
    const b = this.#b;
    if (b[i] !== QUOTE) return -1;
    // Short keys (most) in one pass: to the closing quote, refusing escapes and control bytes.
    let end = -1;
    const inlineEnd = Math.min(b.length, i + 1 + SHORT_STRING);
    for (let j = i + 1; j < inlineEnd; j++) {
      const c = b[j]!;
      if (c === QUOTE) {
        end = j + 1;
        break;
      }
      if (c === BACKSLASH || c < 0x20) return -1; // escaped keys are rare: don't know
    }
    if (end === -1) {
      end = this.#stringEnd(i);
      if (end === -1 || this.#hasBackslash(i, end) || !this.#controlFree(i + 1, end - 1)) return -1;
    }
    const colon = skipWhitespace(b, end);
    if (b[colon] !== COLON) return -1;
    return skipWhitespace(b, colon + 1);
  }

  /** A string value at i: checked; the index after it, or -1 (invalid, or it may hold a secret). */
  #value(i: number): number {
    const b = this.#b;
    if (this.#pendingSplit) return -1; // the string before may start an anchor this one ends
    // Short strings without escapes (most) in one pass: to the closing quote, refusing control
    // bytes, trying the anchors where one could start (an anchor has no quote, so a comparison
    // running past the string's end fails at its closing quote).
    // A byte that may start a needle is looked at with the next (the string's, or its closing quote).
    // In the last bytes of a line (where the SIMD scan does not go), to the string's end.
    const inlineEnd = b.length - i < SIMD_MIN_BYTES ? b.length : i + 1 + SHORT_STRING;
    const firsts = this.#firsts;
    const pairs = this.#pairs;
    for (let j = i + 1; j < inlineEnd; j++) {
      // Four bytes none of which can start a needle or end the loop (most): skipped together.
      while (j + 4 <= inlineEnd && (firsts[b[j]!]! | firsts[b[j + 1]!]! | firsts[b[j + 2]!]! | firsts[b[j + 3]!]!) === 0) j += 4;
      if (j === inlineEnd) break;
      const c = b[j]!;
      const first = firsts[c]!;
      if (first === 0) continue;
      if (c === QUOTE) {
        if (j > i + 1) this.#pendingSplit = this.#endsInPrefix(j, j - i - 1);
        return j + 1;
      }
      if ((first & STOP) !== 0) break; // invalid, or escapes: the general path below
      if (pairs[(c << 8) | b[j + 1]!] === MAY_START && this.#anchorAt(j)) return -1; // past the line's end: `undefined | 0`
    }
    if (b.length - i >= SIMD_MIN_BYTES && anchorScanner() !== null) return this.#scannedValue(i);
    const end = this.#stringEnd(i);
    if (end === -1) return -1;
    const from = i + 1, to = end - 1; // the bytes between the quotes
    if (to - from <= SHORT_STRING) {
      // Short, with a backslash or a control byte: rare.
      if (this.#hasBackslash(i, end)) return this.#escapedMayMatch(i, end) ? -1 : end;
      return !this.#controlFree(from, to) || this.#bytesMayMatch(from, to) ? -1 : end;
    }
    // Long: the cheapest tests first. A `=` or `:` byte in a string is one in its text, escapes or not.
    if (this.#separators && (this.#occurs(EQUALS, from, to) || this.#occurs(COLON, from, to))) return -1;
    if (this.#hasBackslash(i, end)) return this.#escapedMayMatch(i, end) ? -1 : end;
    // No escapes: the text is the bytes. Needles with a rare byte are looked for only if it occurs.
    let mask = 0;
    for (let n = 0; n < this.#needles.length; n++) {
      const key = this.#needles[n]!.key;
      if (key === 0 || this.#occurs(key, from, to)) mask |= 1 << n;
    }
    if (mask !== 0 && this.#chunksMayMatch(this.#searchFor(mask), from, to)) return -1;
    this.#pendingSplit = this.#endsInPrefix(to, to - from);
    return this.#controlFree(from, to) ? end : -1;
  }

  /**
   * A string value at i that did not end within its first bytes, by the SIMD scan: to its closing
   * quote, stopping where an anchor may start; escapes take the general path. The index after
   * it, or -1 (invalid, or it may hold a secret).
   */
  #scannedValue(i: number): number {
    const b = this.#b;
    for (let at = i + 1; ;) {
      const p = this.#nextCandidate(at, true);
      if (p >= b.length) return -1; // no closing quote
      const c = b[p]!;
      if (c === QUOTE) {
        // No backslash before it (one would have stopped the scan): the string ends here.
        if (p > i + 1) this.#pendingSplit = this.#endsInPrefix(p, p - i - 1);
        return p + 1;
      }
      if (c === BACKSLASH) {
        const end = this.#stringEnd(i);
        return end === -1 || this.#escapedMayMatch(i, end) ? -1 : end;
      }
      if (c < 0x20 || this.#anchorAt(p)) return -1;
      at = p + 1;
    }
  }

  /**
   * The first index at or after `from` where an anchor may start (or, with `stops`, where a
   * control character, quote or backslash is); the length of the bytes if none. The bytes go
   * through the module's memory a window at a time; the last two positions of a window that does
   * not end the bytes are looked at again in the next one, where the two bytes after them are.
   */
  #nextCandidate(from: number, stops: boolean): number {
    const s = anchorScanner()!;
    const b = this.#b;
    const tables = (this.#tables ??= this.#buildTables());
    if (tablesIn !== tables) {
      tables.copy(s.memory, TABLES_AT);
      tablesIn = tables;
    }
    for (let at = from; ;) {
      if (windowOf !== b || at < windowStart || at >= windowLimit) {
        if (at >= b.length) return b.length;
        windowOf = b;
        windowStart = at;
        const windowEnd = Math.min(b.length, at + WINDOW_BYTES);
        b.copy(s.memory, WINDOW_AT, windowStart, windowEnd);
        s.memory.fill(0, WINDOW_AT + windowEnd - windowStart, WINDOW_AT + windowEnd - windowStart + WINDOW_SLACK);
        windowLimit = windowEnd === b.length ? windowEnd : windowEnd - 2;
      }
      const found = (stops ? s.scan : s.find)(TABLES_AT, WINDOW_AT + at - windowStart, WINDOW_AT + windowLimit - windowStart) - WINDOW_AT + windowStart;
      if (found < windowLimit) return found;
      if (windowLimit === b.length) return b.length;
      at = windowLimit;
    }
  }

  /**
   * Whether a needle occurs in the bytes [from, to), searched in pieces of CHUNK bytes decoded as
   * latin1 (overlapping by a needle's length): short-lived strings the young generation takes
   * back for nothing, where one string of the whole text (a MiB) would cost full collections.
   * latin1 maps each byte to one character, so the ASCII needles match exactly where their bytes
   * are; bytes >= 0x80 become characters that no needle (nor `i` without `u`) matches.
   */
  #chunksMayMatch(search: RegExp, from: number, to: number): boolean {
    const b = this.#b;
    for (let at = from; ;) {
      const end = Math.min(to, at + CHUNK);
      if (search.test(b.toString('latin1', at, end))) return true;
      if (end === to) return false;
      at = end - this.#overlap;
    }
  }

  /**
   * One expression for the needles in `mask` (bit n: needle n): a single pass over a text instead
   * of one per needle. Letters of an any-case needle become classes (`[bB]`): ASCII case only.
   */
  #searchFor(mask: number): RegExp {
    let search = this.#searches.get(mask);
    if (search === undefined) {
      const alternatives = this.#needles.filter((_, n) => (mask & (1 << n)) !== 0).map((needle) => [...needle.text].map((char) => {
        const lower = char.toLowerCase(), upper = char.toUpperCase();
        if (needle.anyCase && lower !== upper) return `[${lower}${upper}]`;
        return char.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
      }).join(''));
      search = new RegExp(alternatives.join('|'));
      this.#searches.set(mask, search);
    }
    return search;
  }

  /** A string with escapes: decoded (which validates it) and checked as text. */
  #escapedMayMatch(i: number, end: number): boolean {
    let text: string;
    try {
      text = JSON.parse(this.#b.toString('utf8', i, end)) as string;
    } catch {
      return true;
    }
    return this.#textMayMatch(text);
  }

  /** Whether byte c occurs in [from, to), for ranges scanned left to right through the frame. */
  #occurs(c: number, from: number, to: number): boolean {
    if (!this.#nextFresh) {
      this.#next.fill(-2);
      this.#nextFresh = true;
    }
    let at = this.#next[c]!;
    if (at !== -1 && at < from) this.#next[c] = at = this.#b.indexOf(c, from);
    return at !== -1 && at < to;
  }

  /** The index just past the string opening at i (the first quote not escaped), or -1. */
  #stringEnd(i: number): number {
    const b = this.#b;
    const inlineEnd = Math.min(b.length, i + 1 + SHORT_STRING);
    for (let j = i + 1; j < inlineEnd; j++) {
      const c = b[j];
      if (c === QUOTE) return j + 1;
      if (c === BACKSLASH) j++;
    }
    for (let from = i + 1; ;) {
      const quote = b.indexOf(QUOTE, from);
      if (quote === -1) return -1;
      let backslashes = 0;
      for (let k = quote - 1; k > i && b[k] === BACKSLASH; k--) backslashes++;
      if ((backslashes & 1) === 0) return quote + 1;
      from = quote + 1;
    }
  }

  /** Whether the string [i, end) (quotes included) has a backslash. */
  #hasBackslash(i: number, end: number): boolean {
    const b = this.#b;
    if (end - i <= SHORT_STRING + 2) {
      for (let j = i + 1; j < end - 1; j++) if (b[j] === BACKSLASH) return true;
      return false;
    }
    return this.#occurs(BACKSLASH, i + 1, end - 1);
  }

  /** No byte below 0x20 in [from, to): JSON.parse refuses them in strings. */
  #controlFree(from: number, to: number): boolean {
    const b = this.#b;
    if (to - from <= SHORT_STRING) {
      for (let j = from; j < to; j++) if (b[j]! < 0x20) return false;
      return true;
    }
    // One memchr per control byte (a frame without any costs 32 passes in all, ~0.3 ms a MiB).
    for (let c = 0; c < 0x20; c++) if (this.#occurs(c, from, to)) return false;
    return true;
  }

  /** Whether the bytes [from, to) of a string without escapes may give a detector a match. */
  #bytesMayMatch(from: number, to: number): boolean {
    const b = this.#b;
    const pairs = this.#pairs;
    for (let j = from; j < to; j++) {
      if (pairs[(b[j]! << 8) | b[j + 1]!] === MAY_START && this.#anchorAt(j)) return true; // b[to]: the closing quote
    }
    if (to > from) this.#pendingSplit = this.#endsInPrefix(to, to - from);
    return false;
  }

  /** Whether an anchor (or a separator) starts at j, inside a string (it ends at the string's closing quote). */
  #anchorAt(j: number): boolean {
    const b = this.#b;
    const c = b[j];
    if (this.#separators && (c === EQUALS || c === COLON)) return true;
    const needles = this.#needlesByFirst[c!]!;
    for (let n = 0; n < needles.length; n++) {
      const needle = needles[n]!;
      const bytes = needle.bytes;
      let k = 0;
      if (needle.anyCase) while (k < bytes.length && lowerAscii(b[j + k] ?? 0) === bytes[k]) k++;
      else while (k < bytes.length && b[j + k] === bytes[k]) k++;
      if (k === bytes.length) return true;
    }
    return false;
  }

  /** Whether the `available` bytes before `to` end with a proper prefix of an anchor. */
  #endsInPrefix(to: number, available: number): boolean {
    const b = this.#b;
    const last = b[to - 1]!;
    const exact = this.#prefixesByLast[last]!;
    for (let p = 0; p < exact.length; p++) {
      const prefix = exact[p]!;
      if (prefix.length > available) continue;
      let k = 0;
      while (k < prefix.length && b[to - prefix.length + k] === prefix[k]) k++;
      if (k === prefix.length) return true;
    }
    const anyCase = this.#anyCasePrefixesByLast[last]!;
    for (let p = 0; p < anyCase.length; p++) {
      const prefix = anyCase[p]!;
      if (prefix.length > available) continue;
      let k = 0;
      while (k < prefix.length && lowerAscii(b[to - prefix.length + k]!) === prefix[k]) k++;
      if (k === prefix.length) return true;
    }
    return false;
  }

  /** Whether a decoded text may give a detector a match (and notes whether it may start a split one). */
  #textMayMatch(text: string): boolean {
    if (this.#separators && (text.includes('=') || text.includes(':'))) return true;
    for (const needle of this.#needles) {
      if (needle.regex !== undefined ? needle.regex.test(text) : text.includes(needle.text)) return true;
    }
    if (text.length > 0) {
      const last = text.charCodeAt(text.length - 1);
      if (last < 0x80) {
        const tail = text.slice(-16); // longer than any anchor
        const lowerTail = tail.toLowerCase();
        for (const prefix of this.#prefixesByLast[last]!) {
          if (tail.endsWith(String.fromCharCode(...prefix))) this.#pendingSplit = true;
        }
        for (const prefix of this.#anyCasePrefixesByLast[last]!) {
          if (lowerTail.endsWith(String.fromCharCode(...prefix))) this.#pendingSplit = true;
        }
      }
    }
    return false;
  }
}

/** An ASCII byte and, for a letter, its other case. */
function caseVariants(c: number): number[] {
  if (c >= 0x61 && c <= 0x7a) return [c, c - 0x20];
  if (c >= 0x41 && c <= 0x5a) return [c, c + 0x20];
  return [c];
}

function bitCount(bits: number): number {
  let count = 0;
  for (let v = bits; v !== 0; v &= v - 1) count++;
  return count;
}

function skipWhitespace(b: Buffer, i: number): number {
  while (i < b.length && isWhitespace(b[i])) i++;
  return i;
}

/** The index after a number, true, false or null at i (by JSON's grammar), or -1. */
function literalEnd(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x74) return bytesAre(b, i, 'true') ? i + 4 : -1;
  if (c === 0x66) return bytesAre(b, i, 'false') ? i + 5 : -1;
  if (c === 0x6e) return bytesAre(b, i, 'null') ? i + 4 : -1;
  let j = i;
  if (b[j] === 0x2d /* - */) j++;
  if (b[j] === 0x30 /* 0 */) {
    j++;
  } else if (isDigit(b[j])) {
    while (isDigit(b[j])) j++;
  } else {
    return -1;
  }
  if (b[j] === 0x2e /* . */) {
    const digits = ++j;
    while (isDigit(b[j])) j++;
    if (j === digits) return -1;
  }
  if (b[j] === 0x65 || b[j] === 0x45 /* e E */) {
    j++;
    if (b[j] === 0x2b || b[j] === 0x2d /* + - */) j++;
    const digits = j;
    while (isDigit(b[j])) j++;
    if (j === digits) return -1;
  }
  return j;
}

function bytesAre(b: Buffer, i: number, text: string): boolean {
  if (i + text.length > b.length) return false;
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) return false;
  return true;
}
