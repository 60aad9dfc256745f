// Byte-level reads and edits of frames the envelope reader has already validated: where a
// member's value lies, and the frame with some values replaced. The gateway rewrites a frame's
// id (and a tool's namespace) without parsing it, so what it forwards is the peer's bytes except
// for what it had to change. Every read here assumes valid JSON (readEnvelope passed it) with
// no member name twice (it refuses those), so the first match is the only one.

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c, LF = 0x0a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d;
const ID_NAME = Buffer.from('id');

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
  if (b[objectStart] !== OPEN_BRACE) return undefined;
  let i = skipWhitespace(b, objectStart + 1, end);
  while (b[i] === QUOTE) {
    const nameEnd = skipString(b, i, end);
    const matches = nameEnd - i - 2 === name.length && b.compare(name, 0, name.length, i + 1, nameEnd - 1) === 0;
    i = skipWhitespace(b, nameEnd, end);
    if (b[i] !== COLON) return undefined;
    i = skipWhitespace(b, i + 1, end);
    if (!matches && stopAtContainer && (b[i] === OPEN_BRACE || b[i] === OPEN_BRACKET)) return undefined;
    const valueEnd = skipValue(b, i, end);
    if (matches) return { start: i, end: valueEnd };
    i = skipWhitespace(b, valueEnd, end);
    if (b[i] !== COMMA) return undefined;
    i = skipWhitespace(b, i + 1, end);
  }
  return undefined;
}

/** The top-level `id` when it is the message's last member, as `{"result":…,"jsonrpc":"2.0","id":7}` (the TypeScript SDK's order). */
function trailingIdSpan(b: Buffer, end: number, idText: string): Span | undefined {
  if (b[end - 1] !== CLOSE_BRACE) return undefined;
  const valueEnd = skipWhitespaceBack(b, end - 2) + 1;
  const valueStart = valueEnd - idText.length;
  if (valueStart < 0 || b.toString('latin1', valueStart, valueEnd) !== idText) return undefined;
  // Before the value: `:`, then `"id"` whose opening quote follows `,` or `{` (so it is unescaped:
  // a name at the top level, and the value after it is whole: nothing else can end with these bytes).
  let k = skipWhitespaceBack(b, valueStart - 1);
  if (b[k] !== COLON) return undefined;
  k = skipWhitespaceBack(b, k - 1);
  if (b[k] !== QUOTE || b[k - 1] !== 0x64 || b[k - 2] !== 0x69 || b[k - 3] !== QUOTE) return undefined;
  const before = b[skipWhitespaceBack(b, k - 4)];
  return before === COMMA || before === OPEN_BRACE ? { start: valueStart, end: valueEnd } : undefined;
}

/**
 * Where a message's top-level `id` value lies. `idText` is the id as the envelope reader read it
 * (ASCII or not: compared as latin1 bytes only at the tail, else found by walking members).
 * Tried in order of cost: the leading members (`{"jsonrpc":"2.0","id":…`, most requests), the
 * last member (most SDK responses), then every top-level member, skipping nested values.
 */
export function idSpan(b: Buffer, idText: string): Span | undefined {
  const end = contentEnd(b);
  const start = skipWhitespace(b, 0, end);
  return memberSpan(b, start, end, ID_NAME, true) ?? trailingIdSpan(b, end, idText) ?? memberSpan(b, start, end, ID_NAME);
}

/** The value at a path of member names from the top-level object; undefined when a step is missing. */
export function pathSpan(b: Buffer, path: readonly Buffer[]): Span | undefined {
  const end = contentEnd(b);
  let at: Span = { start: skipWhitespace(b, 0, end), end };
  for (const name of path) {
    const next = memberSpan(b, at.start, end, name);
    if (next === undefined) return undefined;
    at = next;
  }
  return at;
}

/** True when the span is a JSON string written without escapes (its bytes are its text). */
export function isPlainString(b: Buffer, span: Span): boolean {
  if (b[span.start] !== QUOTE) return false;
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
 * one allocation, every other byte copied as it was.
 */
export function applyEdits(b: Buffer, edits: readonly Edit[]): Buffer {
  const endsLine = b[b.length - 1] === LF;
  const end = endsLine ? b.length : contentEnd(b);
  let length = end + (endsLine ? 0 : 1);
  for (const edit of edits) length += (typeof edit.text === 'string' ? Buffer.byteLength(edit.text) : edit.text.length) - (edit.end - edit.start);
  const out = Buffer.allocUnsafe(length);
  let from = 0;
  let to = 0;
  for (const edit of edits) {
    to += b.copy(out, to, from, edit.start);
    to += typeof edit.text === 'string' ? out.write(edit.text, to, 'utf8') : edit.text.copy(out, to);
    from = edit.end;
  }
  to += b.copy(out, to, from, end);
  if (to < length) out[to] = LF;
  return out;
}

/** Two edits in order of position. */
export function sortedEdits(a: Edit, b: Edit): readonly Edit[] {
  return a.start < b.start ? [a, b] : [b, a];
}
