/**
 * --trace-inject: a request's bytes with `params._meta.traceparent` added, by splicing the member
 * into the frame as written. Nothing else of the frame changes (numbers, escapes, member order,
 * whitespace stay as the client wrote them): re-serializing would alter what the proxy does not
 * own. The frame was validated by the envelope reader (one reading, RFC 8259), so this scanner
 * only has to find member boundaries, not judge them.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function skipWhitespace(bytes: Buffer, at: number): number {
  while (at < bytes.length && isWhitespace(bytes[at]!)) at++;
  return at;
}

/** `at` is on an opening quote: the index after the closing one. */
function skipString(bytes: Buffer, at: number): number {
  for (let i = at + 1; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i + 1;
  }
  return bytes.length;
}

/** `at` is on the first byte of a value: the index after it. */
function skipValue(bytes: Buffer, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let i = at; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte === QUOTE) i = skipString(bytes, i) - 1;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && --depth === 0) return i + 1;
    }
    return bytes.length;
  }
  // A number or a literal: up to the next delimiter.
  let i = at;
  while (i < bytes.length && bytes[i] !== COMMA && bytes[i] !== CLOSE_BRACE && bytes[i] !== CLOSE_BRACKET && !isWhitespace(bytes[i]!)) i++;
  return i;
}

/** A member name by value: an escaped spelling (`"p\u0061rams"`) is the same name to a peer. */
function memberName(bytes: Buffer, start: number, end: number): string {
  const raw = bytes.subarray(start, end);
  return raw.includes(BACKSLASH) ? JSON.parse(raw.toString('utf8')) as string : raw.toString('latin1', 1, raw.length - 1);
}

interface ObjectScan {
  /** Where the member's value starts, when the object has a member of that name. */
  readonly valueAt: number | undefined;
  /** The index after the object's `{`. */
  readonly bodyAt: number;
  readonly empty: boolean;
}

/** Finds the member `name` of the object whose `{` is at `at`. */
function findMember(bytes: Buffer, at: number, name: string): ObjectScan {
  const bodyAt = at + 1;
  let i = skipWhitespace(bytes, bodyAt);
  const empty = bytes[i] === CLOSE_BRACE;
  while (i < bytes.length && bytes[i] === QUOTE) {
    const nameEnd = skipString(bytes, i);
    const valueAt = skipWhitespace(bytes, skipWhitespace(bytes, nameEnd) + 1); // past the colon
    if (bytes[skipWhitespace(bytes, nameEnd)] !== COLON) break;
    if (memberName(bytes, i, nameEnd) === name) return { valueAt, bodyAt, empty };
    i = skipWhitespace(bytes, skipValue(bytes, valueAt));
    if (bytes[i] !== COMMA) break;
    i = skipWhitespace(bytes, i + 1);
  }
  return { valueAt: undefined, bodyAt, empty };
}

/** `insert` spliced in at `at`, followed by a comma when the object it opens was not empty. */
function splice(bytes: Buffer, at: number, insert: string, comma: boolean): Buffer {
  const text = comma ? `${insert},` : insert;
  const added = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(bytes.length + added);
  bytes.copy(out, 0, 0, at);
  out.write(text, at, 'utf8');
  bytes.copy(out, at + added, at);
  return out;
}

/**
 * The request with `params._meta.traceparent` set to `traceparent`, or undefined when it cannot
 * be added without changing the meaning of something already there: the frame is not an object,
 * `params` is by position (an array) or not an object, `_meta` is not an object, or `_meta`
 * already has a `traceparent` (the client's, even one the proxy could not read, is never replaced).
 */
export function withTraceparent(line: Buffer, traceparent: string): Buffer | undefined {
  const top = skipWhitespace(line, 0);
  if (line[top] !== OPEN_BRACE) return undefined;
  const member = `"traceparent":${JSON.stringify(traceparent)}`;
  const params = findMember(line, top, 'params');
  if (params.valueAt === undefined) return splice(line, params.bodyAt, `"params":{"_meta":{${member}}}`, !params.empty);
  if (line[params.valueAt] !== OPEN_BRACE) return undefined;
  const meta = findMember(line, params.valueAt, '_meta');
  if (meta.valueAt === undefined) return splice(line, meta.bodyAt, `"_meta":{${member}}`, !meta.empty);
  if (line[meta.valueAt] !== OPEN_BRACE) return undefined;
  const existing = findMember(line, meta.valueAt, 'traceparent');
  if (existing.valueAt !== undefined) return undefined;
  return splice(line, existing.bodyAt, member, !existing.empty);
}
