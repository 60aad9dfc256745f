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

// Key bytes compared without decoding.
const KEY_ID = Buffer.from('id'), KEY_METHOD = Buffer.from('method');
const KEY_RESULT = Buffer.from('result'), KEY_ERROR = Buffer.from('error');

class Malformed extends Error {}

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(b: Buffer, i: number): number {
  while (i < b.length && isWhitespace(b[i])) i++;
  return i;
}

/** Index just past the string that opens at `i`. */
function skipString(b: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = b.indexOf(QUOTE, from);
    if (quote === -1) throw new Malformed('unterminated string');
    let backslashes = 0;
    for (let k = quote - 1; k > i && b[k] === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipContainer(b: Buffer, i: number): number {
  const stack: number[] = [];
  for (let j = i; j < b.length; j++) {
    const c = b[j];
    if (c === QUOTE) {
      j = skipString(b, j) - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (stack.length >= MAX_NESTING) throw new Malformed(`nesting deeper than ${MAX_NESTING}`);
      stack.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (stack.pop() !== c) throw new Malformed(`unexpected '${String.fromCharCode(c)}'`);
      if (stack.length === 0) return j + 1;
    }
  }
  throw new Malformed('unterminated object or array');
}

function skipLiteral(b: Buffer, i: number): number {
  let j = i;
  // Numbers and true/false/null: a run of these characters, checked by JSON.parse below.
  while (j < b.length) {
    const c = b[j]!;
    const isLiteralChar = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45;
    if (!isLiteralChar) break;
    j++;
  }
  if (j === i) throw new Malformed(`unexpected '${String.fromCharCode(b[i] ?? 0)}'`);
  return j;
}

function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return skipContainer(b, i);
  const end = skipLiteral(b, i);
  JSON.parse(b.toString('latin1', i, end)); // throws on a bad number or literal
  return end;
}

function keyEquals(b: Buffer, start: number, end: number, key: Buffer): boolean {
  return end - start === key.length && b.compare(key, 0, key.length, start, end) === 0;
}

// Keys and method names are short: a plain loop beats indexOf, which would run past `end`.
function hasBackslash(b: Buffer, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (b[k] === BACKSLASH) return true;
  return false;
}

function decodeString(b: Buffer, start: number, end: number): string {
  // start/end include the quotes; escapes (rare in method names) go through JSON.parse.
  return hasBackslash(b, start, end)
    ? (JSON.parse(b.toString('utf8', start, end)) as string)
    : b.toString('utf8', start + 1, end - 1);
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
      for (;;) {
        if (b[i] !== QUOTE) throw new Malformed('expected a quoted key');
        const keyStart = i;
        const keyEnd = skipString(b, i);
        i = skipWhitespace(b, keyEnd);
        if (b[i] !== COLON) throw new Malformed('expected \':\' after a key');
        const valueStart = skipWhitespace(b, i + 1);
        const valueEnd = skipValue(b, valueStart);
        // Escaped keys are decoded, so `"\u006dethod"` cannot slip a method past a rule.
        const keyText = hasBackslash(b, keyStart, keyEnd) ? Buffer.from(JSON.parse(b.toString('utf8', keyStart, keyEnd)) as string) : undefined;
        const [kb, ks, ke] = keyText ? [keyText, 0, keyText.length] : [b, keyStart + 1, keyEnd - 1];
        // Duplicate keys: the last one wins, as JSON.parse (and so the server) sees it.
        if (keyEquals(kb, ks, ke, KEY_ID)) {
          id = b.toString('utf8', valueStart, valueEnd);
        } else if (keyEquals(kb, ks, ke, KEY_METHOD)) {
          if (b[valueStart] !== QUOTE) throw new NotJsonRpc('"method" must be a string');
          method = decodeString(b, valueStart, valueEnd);
        } else if (keyEquals(kb, ks, ke, KEY_RESULT)) {
          hasResult = true;
        } else if (keyEquals(kb, ks, ke, KEY_ERROR)) {
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
