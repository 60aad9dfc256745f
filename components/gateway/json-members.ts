// Byte-level reads and edits of frames the envelope reader has already validated: where a
// member's value lies, and the frame with some values replaced. The gateway rewrites a frame's
// id (and a tool's namespace) without parsing it, so what it forwards is the peer's bytes except
// for what it had to change. Every read here assumes valid JSON (readEnvelope passed it) with
// no member name twice (it refuses those), so the first match is the only one.

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c, LF = 0x0a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const ID_NAME = Buffer.from('id');
// Below this many bytes a JS loop beats a native call (indexOf, compare, copy, write): the
// per-call cost (~50-100 ns each) dominates for ids, names and most request frames.
const SHORT_BYTES = 64;
// Copies: a loop costs ~1.5-1.8 ns a byte, Buffer#copy ~65 ns at any length (Node 20, and it
// allocates a view of the source's range): loops win below about 36 bytes.
const COPY_LOOP_BYTES = 32;

/** A value's bytes: [start, end). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** One replacement: the bytes [start, end) become `text`. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string | Buffer;
}

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === LF || c === 0x0d;
}

function skipWhitespace(b: Buffer, i: number, end: number): number {
  while (i < end && isWhitespace(b[i])) i++;
  return i;
}

function skipWhitespaceBack(b: Buffer, i: number): number {
  while (i >= 0 && isWhitespace(b[i])) i--;
  return i;
}

/** The end of the JSON text: the frame without its trailing whitespace (its line end). */
export function contentEnd(b: Buffer): number {
  return skipWhitespaceBack(b, b.length - 1) + 1;
}

/** Just past the closing quote of the string that opens at `i`. */
function skipString(b: Buffer, i: number, end: number): number {
  let from = i + 1;
  const shortEnd = Math.min(end, from + SHORT_BYTES);
  for (; from < shortEnd; from++) {
    const c = b[from];
    if (c === QUOTE) return from + 1;
    if (c === BACKSLASH) from++;
  }
  // A long string: the native search, each quote checked for the backslashes before it.
  for (;;) {
    const quote = b.indexOf(QUOTE, from);
    if (quote < 0 || quote >= end) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    for (let k = quote - 1; b[k] === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Just past the value that starts at `i`. */
function skipValue(b: Buffer, i: number, end: number): number {
  const first = b[i];
  if (first === QUOTE) return skipString(b, i, end);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const c = b[j];
      if (c === QUOTE) j = skipString(b, j, end) - 1;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return j + 1;
    }
    throw new SyntaxError('unterminated container');
  }
  let j = i;
  while (j < end) {
    const c = b[j];
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c)) break;
    j++;
  }
  return j;
}

/**
 * The value of the member `name` (as written, without escapes) of the object at `objectStart`;
 * undefined when the object has none, or `objectStart` is not an object. A name written with
 * escapes is not matched: the caller then fails closed (or re-serializes).
 */
export function memberSpan(b: Buffer, objectStart: number, end: number, name: Buffer, stopAtContainer = false): Span | undefined {
  const start = memberStart(b, objectStart, end, name, stopAtContainer);
  return start < 0 ? undefined : { start, end: skipValue(b, start, end) };
}

/** Where memberSpan's value starts (-1: no such member), without walking the value itself. */
function memberStart(b: Buffer, objectStart: number, end: number, name: Buffer, stopAtContainer: boolean): number {
  if (b[objectStart] !== OPEN_BRACE) return -1;
  let i = skipWhitespace(b, objectStart + 1, end);
  while (b[i] === QUOTE) {
    const nameEnd = skipString(b, i, end);
    const matches = nameEnd - i - 2 === name.length && bytesEqual(b, i + 1, name);
    i = skipWhitespace(b, nameEnd, end);
    if (b[i] !== COLON) return -1;
    i = skipWhitespace(b, i + 1, end);
    if (matches) return i;
    if (stopAtContainer && (b[i] === OPEN_BRACE || b[i] === OPEN_BRACKET)) return -1;
    i = skipWhitespace(b, skipValue(b, i, end), end);
    if (b[i] !== COMMA) return -1;
    i = skipWhitespace(b, i + 1, end);
  }
  return -1;
}

/** True when b[at, at + name.length) holds name's bytes (member names are short: a loop). */
function bytesEqual(b: Buffer, at: number, name: Buffer): boolean {
  for (let k = 0; k < name.length; k++) if (b[at + k] !== name[k]) return false;
  return true;
}

/** True when b[start, end) holds `text`'s characters as latin1 bytes (as `b.toString('latin1', start, end) === text`). */
function latin1Equal(b: Buffer, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[start + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** The top-level `id` when it is the message's last member, as `{"result":…,"jsonrpc":"2.0","id":7}` (the TypeScript SDK's order): where its value starts, else -1. */
function trailingIdStart(b: Buffer, end: number, idText: string): number {
  if (b[end - 1] !== CLOSE_BRACE) return -1;
  const valueEnd = skipWhitespaceBack(b, end - 2) + 1;
  const valueStart = valueEnd - idText.length;
  if (valueStart < 0 || !latin1Equal(b, valueStart, valueEnd, idText)) return -1;
  // Before the value: `:`, then `"id"` whose opening quote follows `,` or `{` (so it is unescaped:
  // a name at the top level, and the value after it is whole: nothing else can end with these bytes).
  let k = skipWhitespaceBack(b, valueStart - 1);
  if (b[k] !== COLON) return -1;
  k = skipWhitespaceBack(b, k - 1);
  if (b[k] !== QUOTE || b[k - 1] !== 0x64 || b[k - 2] !== 0x69 || b[k - 3] !== QUOTE) return -1;
  const before = b[skipWhitespaceBack(b, k - 4)];
  return before === COMMA || before === OPEN_BRACE ? valueStart : -1;
}

/**
 * Where a message's top-level `id` value lies. `idText` is the id as the envelope reader read it
 * (ASCII or not: compared as latin1 bytes only at the tail, else found by walking members).
 * Tried in order of cost: the leading members (`{"jsonrpc":"2.0","id":…`, most requests), the
 * last member (most SDK responses), then every top-level member, skipping nested values.
 */
export function idSpan(b: Buffer, idText: string): Span | undefined {
  const start = idValueStart(b, idText);
  return start < 0 ? undefined : { start, end: valueEnd(b, start) };
}

/** Where idSpan's value starts (-1: not located), without a Span: the per-call path's. Its end: valueEnd. */
export function idValueStart(b: Buffer, idText: string): number {
  // Most peers open with exactly these bytes: the id's value follows them.
  if (bytesEqual(b, 0, JSONRPC_ID_OPENING)) return skipWhitespace(b, JSONRPC_ID_OPENING.length, b.length);
  const end = contentEnd(b);
  const start = skipWhitespace(b, 0, end);
  const leading = memberStart(b, start, end, ID_NAME, true);
  if (leading >= 0) return leading;
  const trailing = trailingIdStart(b, end, idText);
  return trailing >= 0 ? trailing : memberStart(b, start, end, ID_NAME, false);
}

/** Just past the value that starts at `start` (one idValueStart, locateCall or paramsNameStart found). */
export function valueEnd(b: Buffer, start: number): number {
  return skipValue(b, start, contentEnd(b));
}

/** Where a request's id and `params.name` values lie (-1: not found), as locateCall finds them. */
export interface CallMembers {
  idStart: number;
  idEnd: number;
  nameStart: number;
}

const PARAMS_NAME = Buffer.from('params');
const NAME_NAME = Buffer.from('name');
/** `"jsonrpc":"2.0",` as most peers open a message with it. */
const JSONRPC_MEMBER = Buffer.from('"jsonrpc":"2.0",');
/** A message that opens with its version and then its id: the id's value starts right after. */
const JSONRPC_ID_OPENING = Buffer.from('{"jsonrpc":"2.0","id":');

/**
 * A request's top-level `id` and its `params.name` in one walk of the top-level members (idSpan
 * and pathSpan(params, name) would walk the leading members twice): the last member first (the
 * TypeScript SDK writes the id last), then the members in order, `params` entered, never walked
 * to its end when the id is already found. Writes into `out` (no object per call).
 */
export function locateCall(b: Buffer, idText: string, out: CallMembers): void {
  const end = contentEnd(b);
  let i = skipWhitespace(b, 0, end);
  out.idStart = trailingIdStart(b, end, idText);
  out.idEnd = out.idStart < 0 ? -1 : out.idStart + idText.length;
  out.nameStart = -1;
  if (b[i] !== OPEN_BRACE) return;
  i = skipWhitespace(b, i + 1, end);
  if (bytesEqual(b, i, JSONRPC_MEMBER)) i = skipWhitespace(b, i + JSONRPC_MEMBER.length, end);
  while (b[i] === QUOTE) {
    const nameStart = i;
    const nameEnd = skipString(b, i, end);
    i = skipWhitespace(b, nameEnd, end);
    if (b[i] !== COLON) return;
    const valueStart = skipWhitespace(b, i + 1, end);
    const nameLength = nameEnd - nameStart - 2;
    if (nameLength === 2 && b[nameStart + 1] === 0x69 && b[nameStart + 2] === 0x64 && out.idStart < 0) {
      out.idStart = valueStart;
      out.idEnd = skipValue(b, valueStart, end);
      i = out.idEnd;
      if (out.nameStart >= 0) return;
    } else if (nameLength === PARAMS_NAME.length && bytesEqual(b, nameStart + 1, PARAMS_NAME)) {
      out.nameStart = memberStart(b, valueStart, end, NAME_NAME, false);
      if (out.idStart >= 0) return;
      i = skipValue(b, valueStart, end);
    } else {
      i = skipValue(b, valueStart, end);
    }
    i = skipWhitespace(b, i, end);
    if (b[i] !== COMMA) return;
    i = skipWhitespace(b, i + 1, end);
  }
}

/** Where the `name` member's value of the `params` object at `paramsStart` starts (-1: none, or params is no object); its end: valueEnd. */
export function paramsNameStart(b: Buffer, paramsStart: number): number {
  return memberStart(b, paramsStart, contentEnd(b), NAME_NAME, false);
}

/** The value at a path of member names from the top-level object; undefined when a step is missing. */
export function pathSpan(b: Buffer, path: readonly Buffer[]): Span | undefined {
  const end = contentEnd(b);
  let at = skipWhitespace(b, 0, end);
  // The objects on the way are entered, never walked to their end (params may be most of the frame).
  for (let step = 0; step < path.length && at >= 0; step++) at = memberStart(b, at, end, path[step]!, false);
  return at < 0 ? undefined : { start: at, end: skipValue(b, at, end) };
}

/** True when the span is a JSON string written without escapes (its bytes are its text). */
export function isPlainString(b: Buffer, span: Span): boolean {
  if (b[span.start] !== QUOTE) return false;
  if (span.end - span.start <= SHORT_BYTES) {
    for (let k = span.start + 1; k < span.end; k++) if (b[k] === BACKSLASH) return false;
    return true;
  }
  const backslash = b.indexOf(BACKSLASH, span.start + 1);
  return backslash < 0 || backslash >= span.end;
}

/** The string a span holds (undefined when it is not a string). */
export function stringAt(b: Buffer, span: Span): string | undefined {
  if (b[span.start] !== QUOTE) return undefined;
  if (isPlainString(b, span)) return b.toString('utf8', span.start + 1, span.end - 1);
  return JSON.parse(b.toString('utf8', span.start, span.end)) as string;
}

/**
 * The frame with `edits` applied (sorted by start, not overlapping), ending with one `\n`:
 * one allocation (by `allocate`, exactly the frame's length), every other byte copied as it was.
 */
export function applyEdits(b: Buffer, edits: readonly Edit[], allocate: (length: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const endsLine = b[b.length - 1] === LF;
  const end = endsLine ? b.length : contentEnd(b);
  let length = end + (endsLine ? 0 : 1);
  for (const edit of edits) length += textBytes(edit.text) - (edit.end - edit.start);
  const out = allocate(length);
  let from = 0;
  let to = 0;
  for (const edit of edits) {
    to = copyBytes(b, from, edit.start, out, to);
    to = writeText(edit.text, out, to);
    from = edit.end;
  }
  to = copyBytes(b, from, end, out, to);
  if (to < length) out[to] = LF;
  return out;
}

/** Copies source[start, end) to target at `at`; returns just past what it wrote (a loop when short, else memcpy). */
export function copyBytes(source: Buffer, start: number, end: number, target: Buffer, at: number): number {
  const length = end - start;
  if (length > COPY_LOOP_BYTES) return at + source.copy(target, at, start, end);
  for (let k = 0; k < length; k++) target[at + k] = source[start + k]!;
  return at + length;
}

/** True when every character of `text` is ASCII (its UTF-8 bytes are its char codes). */
function isAscii(text: string): boolean {
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) > 0x7f) return false;
  return true;
}

function textBytes(text: string | Buffer): number {
  if (typeof text !== 'string') return text.length;
  return text.length <= SHORT_BYTES && isAscii(text) ? text.length : Buffer.byteLength(text);
}

function writeText(text: string | Buffer, out: Buffer, at: number): number {
  if (typeof text !== 'string') return copyBytes(text, 0, text.length, out, at);
  if (text.length <= SHORT_BYTES && isAscii(text)) {
    for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
    return at + text.length;
  }
  return at + out.write(text, at, 'utf8');
}

/** Two edits in order of position. */
export function sortedEdits(a: Edit, b: Edit): readonly Edit[] {
  return a.start < b.start ? [a, b] : [b, a];
}
