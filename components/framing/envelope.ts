// Reads a frame's JSON-RPC envelope (kind, id, method) straight from its bytes, without
// building the body. The top level is parsed exactly; nested values (params, result, error)
// are skipped with a structural scan: strings by memchr for their closing quote, containers
// by a bracket stack. So a 1 MiB tool result costs one pass of memchr, not a JSON.parse.
// A rule that needs the body parses it on demand (see parseFrameBody).

export type FrameKind = 'request' | 'notification' | 'response' | 'error' | 'batch';

export interface Envelope {
  readonly kind: FrameKind;
  /** The id exactly as written (JSON text: `7`, `"a"`, `null`); undefined when absent. */
  readonly id: string | undefined;
  readonly method: string | undefined;
  /** For a batch: the envelopes of its members. */
  readonly members?: readonly Envelope[];
}

export interface EnvelopeProblem {
  readonly kind: 'invalid';
  /** `parse`: not JSON at all. `not_jsonrpc`: JSON, but not a JSON-RPC message. `blank`: only whitespace. */
  readonly problem: 'parse' | 'not_jsonrpc' | 'blank';
  readonly detail: string;
  /** The id and method, when they could be read before the problem was found. */
  readonly id: string | undefined;
  readonly method?: string | undefined;
}

export type EnvelopeResult = Envelope | EnvelopeProblem;

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const MAX_NESTING = 4096;
// Strings are scanned byte by byte for this long before memchr (indexOf) takes over: keys,
// ids and method names are short, and a native call costs more than a short loop.
const INLINE_STRING_SCAN = 32;

// The top-level keys that matter, told apart by length and bytes (no decoding, no native compare).
const KEY_OTHER = 0, KEY_ID = 1, KEY_METHOD = 2, KEY_RESULT = 3, KEY_ERROR = 4;
type KeyKind = typeof KEY_OTHER | typeof KEY_ID | typeof KEY_METHOD | typeof KEY_RESULT | typeof KEY_ERROR;

class Malformed extends Error {}

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(b: Buffer, i: number): number {
  while (i < b.length && isWhitespace(b[i])) i++;
  return i;
}

// Set by skipString: false when the string it just skipped certainly has no backslash (a
// short string, scanned byte by byte), so keys and method names need no second pass.
let stringMayHaveEscape = false;

/** Index just past the string that opens at `i`. */
function skipString(b: Buffer, i: number): number {
  let j = i + 1;
  const inlineEnd = Math.min(b.length, j + INLINE_STRING_SCAN);
  let escaped = false;
  for (; j < inlineEnd; j++) {
    const c = b[j];
    if (c === QUOTE) {
      stringMayHaveEscape = escaped;
      return j + 1;
    }
    if (c === BACKSLASH) {
      escaped = true;
      j++; // whatever follows is escaped
    }
  }
  stringMayHaveEscape = true;
  for (let from = j; ;) {
    const quote = b.indexOf(QUOTE, from);
    if (quote === -1) throw new Malformed('unterminated string');
    // Escaped if an odd run of backslashes precedes it (the run may start in the part scanned above).
    let backslashes = 0;
    for (let k = quote - 1; k > i && b[k] === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

// One closing byte per open container; shared, as a scan never nests inside another.
const closers = new Uint8Array(MAX_NESTING);

function skipContainer(b: Buffer, i: number): number {
  let depth = 0;
  for (let j = i; j < b.length; j++) {
    const c = b[j];
    if (c === QUOTE) {
      j = skipString(b, j) - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth >= MAX_NESTING) throw new Malformed(`nesting deeper than ${MAX_NESTING}`);
      closers[depth++] = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0 || closers[--depth] !== c) throw new Malformed(`unexpected '${String.fromCharCode(c)}'`);
      if (depth === 0) return j + 1;
    }
  }
  throw new Malformed('unterminated object or array');
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function bytesAre(b: Buffer, i: number, end: number, text: string): boolean {
  if (end - i !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) return false;
  return true;
}

// JSON's grammar for a number, or true/false/null, exactly as JSON.parse accepts it.
function isLiteral(b: Buffer, i: number, end: number): boolean {
  const first = b[i];
  if (first === 0x74) return bytesAre(b, i, end, 'true');
  if (first === 0x66) return bytesAre(b, i, end, 'false');
  if (first === 0x6e) return bytesAre(b, i, end, 'null');
  let j = i;
  if (b[j] === 0x2d /* - */) j++;
  if (b[j] === 0x30 /* 0 */) {
    j++;
  } else if (isDigit(b[j])) {
    while (j < end && isDigit(b[j])) j++;
  } else {
    return false;
  }
  if (j < end && b[j] === 0x2e /* . */) {
    const digits = ++j;
    while (j < end && isDigit(b[j])) j++;
    if (j === digits) return false;
  }
  if (j < end && (b[j] === 0x65 || b[j] === 0x45) /* e E */) {
    j++;
    if (j < end && (b[j] === 0x2b || b[j] === 0x2d) /* + - */) j++;
    const digits = j;
    while (j < end && isDigit(b[j])) j++;
    if (j === digits) return false;
  }
  return j === end;
}

function skipLiteral(b: Buffer, i: number): number {
  let j = i;
  // Numbers and true/false/null: a run of these characters, then checked against the grammar.
  while (j < b.length) {
    const c = b[j]!;
    const isLiteralChar = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45;
    if (!isLiteralChar) break;
    j++;
  }
  if (j === i) throw new Malformed(`unexpected '${String.fromCharCode(b[i] ?? 0)}'`);
  if (!isLiteral(b, i, j)) throw new Malformed(`'${b.toString('latin1', i, Math.min(j, i + 32))}' is not a JSON number or literal`);
  return j;
}

function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return skipContainer(b, i);
  return skipLiteral(b, i);
}

const JSONRPC_MEMBER = Buffer.from('"jsonrpc":"2.0",');

function startsWithBytes(b: Buffer, i: number, prefix: Buffer): boolean {
  if (b.length - i < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (b[i + k] !== prefix[k]) return false;
  return true;
}

// Which top-level key the bytes name (`start`/`end` exclude the quotes).
function keyKind(b: Buffer, start: number, end: number): KeyKind {
  switch (end - start) {
    case 2:
      return b[start] === 0x69 && b[start + 1] === 0x64 ? KEY_ID : KEY_OTHER;
    case 5:
      return bytesAre(b, start, end, 'error') ? KEY_ERROR : KEY_OTHER;
    case 6:
      if (b[start] === 0x6d) return bytesAre(b, start, end, 'method') ? KEY_METHOD : KEY_OTHER;
      return b[start] === 0x72 && bytesAre(b, start, end, 'result') ? KEY_RESULT : KEY_OTHER;
    default:
      return KEY_OTHER;
  }
}

// Keys and method names are short: a plain loop beats indexOf, which would run past `end`.
function hasBackslash(b: Buffer, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (b[k] === BACKSLASH) return true;
  return false;
}

// Short ASCII ids (numbers, most string ids) are built in JS, which costs less than a native
// decode; anything else is decoded as UTF-8. (Not String(number) for integer ids, though it
// is cheaper to build and to hash: V8 keeps each such string in its number-string cache, so
// every id survives the young generation; measured: +40 MB RSS at 64 calls in flight.)
const SHORT_ID_CHARS = 12;

function readIdText(b: Buffer, start: number, end: number): string {
  if (end - start <= SHORT_ID_CHARS) {
    let text = '';
    for (let k = start; k < end; k++) {
      const c = b[k]!;
      if (c >= 0x80) return b.toString('utf8', start, end);
      text += String.fromCharCode(c);
    }
    return text;
  }
  return b.toString('utf8', start, end);
}

// The method names seen last, kept as bytes and string: most frames name one of a few
// methods, and a match costs a short compare instead of decoding a new string.
const METHOD_CACHE_SIZE = 8;
const cachedMethodBytes: Buffer[] = [];
const cachedMethodNames: string[] = [];
let nextMethodSlot = 0;

function readMethod(b: Buffer, start: number, end: number, mayHaveEscape: boolean): string {
  // start/end include the quotes; escapes (rare in method names) go through JSON.parse.
  if (mayHaveEscape && hasBackslash(b, start, end)) return JSON.parse(b.toString('utf8', start, end)) as string;
  const from = start + 1, to = end - 1, length = to - from;
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

/** Reads the envelope of one frame (the bytes of one line). */
export function readEnvelope(b: Buffer): EnvelopeResult {
  let id: string | undefined;
  let method: string | undefined;
  try {
    let i = skipWhitespace(b, 0);
    if (i === b.length) return { kind: 'invalid', problem: 'blank', detail: 'blank line', id };
    if (b[i] === OPEN_BRACKET) return readBatch(b);
    if (b[i] !== OPEN_BRACE) {
      i = skipWhitespace(b, skipValue(b, i));
      if (i !== b.length) throw new Malformed('unexpected data after the value');
      return { kind: 'invalid', problem: 'not_jsonrpc', detail: 'a JSON-RPC message must be an object', id };
    }
    let hasResult = false, hasError = false;
    i = skipWhitespace(b, i + 1);
    if (b[i] === CLOSE_BRACE) {
      i++;
    } else {
      // Most frames open with exactly this member and a comma: taken as one, the same as
      // parsed (a key must still follow).
      if (startsWithBytes(b, i, JSONRPC_MEMBER)) i = skipWhitespace(b, i + JSONRPC_MEMBER.length);
      for (;;) {
        if (b[i] !== QUOTE) throw new Malformed('expected a quoted key');
        const keyStart = i;
        const keyEnd = skipString(b, i);
        const keyMayHaveEscape = stringMayHaveEscape;
        i = skipWhitespace(b, keyEnd);
        if (b[i] !== COLON) throw new Malformed('expected \':\' after a key');
        const valueStart = skipWhitespace(b, i + 1);
        const valueEnd = skipValue(b, valueStart);
        // Escaped keys are decoded, so `"\u006dethod"` cannot slip a method past a rule.
        let kind: KeyKind;
        if (keyMayHaveEscape && hasBackslash(b, keyStart, keyEnd)) {
          const keyText = Buffer.from(JSON.parse(b.toString('utf8', keyStart, keyEnd)) as string);
          kind = keyKind(keyText, 0, keyText.length);
        } else {
          kind = keyKind(b, keyStart + 1, keyEnd - 1);
        }
        // Duplicate keys: the last one wins, as JSON.parse (and so the server) sees it.
        if (kind === KEY_ID) {
          id = readIdText(b, valueStart, valueEnd);
        } else if (kind === KEY_METHOD) {
          if (b[valueStart] !== QUOTE) throw new NotJsonRpc('"method" must be a string');
          method = readMethod(b, valueStart, valueEnd, stringMayHaveEscape);
        } else if (kind === KEY_RESULT) {
          hasResult = true;
        } else if (kind === KEY_ERROR) {
          hasError = true;
        }
        i = skipWhitespace(b, valueEnd);
        if (b[i] === COMMA) {
          i = skipWhitespace(b, i + 1);
          continue;
        }
        if (b[i] === CLOSE_BRACE) {
          i++;
          break;
        }
        throw new Malformed('expected \',\' or \'}\'');
      }
    }
    if (skipWhitespace(b, i) !== b.length) throw new Malformed('unexpected data after the object');
    if (method !== undefined) return { kind: id === undefined ? 'notification' : 'request', id, method };
    if (hasResult) return { kind: 'response', id, method };
    if (hasError) return { kind: 'error', id, method };
    return { kind: 'invalid', problem: 'not_jsonrpc', detail: 'no "method", "result" or "error"', id };
  } catch (error) {
    if (error instanceof NotJsonRpc) return { kind: 'invalid', problem: 'not_jsonrpc', detail: error.message, id, method };
    const detail = error instanceof Error ? error.message : String(error);
    return { kind: 'invalid', problem: 'parse', detail, id, method };
  }
}

class NotJsonRpc extends Error {}

// Batches (2025-03-26 only, rare): parsed whole, members classified from the parsed values.
function readBatch(b: Buffer): EnvelopeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8'));
  } catch (error) {
    return { kind: 'invalid', problem: 'parse', detail: (error as Error).message, id: undefined };
  }
  const items = parsed as unknown[];
  if (items.length === 0) return { kind: 'invalid', problem: 'not_jsonrpc', detail: 'an empty batch', id: undefined };
  const members = items.map((item) => readEnvelope(Buffer.from(JSON.stringify(item))));
  const valid = members.filter((m): m is Envelope => m.kind !== 'invalid');
  return { kind: 'batch', id: undefined, method: undefined, members: valid };
}

/** The full body of a frame, for the rules that need it. */
export function parseFrameBody(raw: Buffer): unknown {
  return JSON.parse(raw.toString('utf8'));
}
