/**
 * The one encoding of a report line: what chain.ts writes for a report's content. The hashed
 * text is the canonical JSON (RFC 8785) of the report without `digest`, `signature` and
 * `timing`; the line is that text with its closing brace replaced by `,"digest":…`, then
 * `,"signature":{…}` when signed, then `,"timing":{…}}` (startedAt, finishedAt, durationMs, pid:
 * chain.ts's `timingText`).
 *
 * verify requires every line to be exactly this text. JSON.parse forgives what the digest
 * cannot see: of a duplicated key it keeps the last, so a line can carry a second value that a
 * first-wins reader believes while the digest still matches; whitespace, key order and other
 * spellings of the same string or number (`\u0061`, `1.0`) are the same kind of slack. One
 * byte-exact encoding leaves every reader one meaning.
 */
import { canonicalText, sha256Digest, UNHASHED_FIELDS } from './digest.js';
import type { ReportSignature, ReportTiming } from './schema.js';

/** The parts of a report outside its hashed text, as the schema passed them. */
export interface ReportLineTail {
  readonly digest: string;
  readonly signature?: ReportSignature | undefined;
  readonly timing: ReportTiming;
}

export interface EncodedReportLine {
  /** The digest of the report's content: `digestOf` of the same report. */
  readonly digest: string;
  /** The line as the writer writes it, without its newline. */
  readonly line: string;
}

/**
 * The canonical line of a parsed report (`tail` being the same report after the schema): one
 * canonical serialization and one hash, which also give its digest.
 */
export function encodeReportLine(parsed: object, tail: ReportLineTail): EncodedReportLine {
  const body: Record<string, unknown> = { ...parsed };
  for (const field of UNHASHED_FIELDS) delete body[field];
  const hashed = canonicalText(body);
  // Written as chain.ts writes them, not through JSON.stringify: the schema's patterns (hex,
  // base64, ISO times) leave nothing to escape, and a number's text is what JSON writes.
  let line = `${hashed.slice(0, -1)},"digest":"${tail.digest}"`;
  const s = tail.signature;
  if (s !== undefined) line += `,"signature":{"alg":"${s.alg}","keyId":"${s.keyId}","value":"${s.value}"}`;
  const t = tail.timing;
  line += `,"timing":{"startedAt":"${t.startedAt}"`;
  if (t.finishedAt !== undefined) line += `,"finishedAt":"${t.finishedAt}"`;
  if (t.durationMs !== undefined) line += `,"durationMs":${t.durationMs}`;
  if (t.pid !== undefined) line += `,"pid":${t.pid}`;
  return { digest: sha256Digest(hashed), line: `${line}}}` };
}

export interface LineDifference {
  /** 0-based offset, in the line's UTF-8 bytes, of the first character that differs. */
  readonly byte: number;
  /** The member there (`outcome`, `arguments.list[2]`, `timing.durationMs`); '' at the top level, undefined after the report's last brace. */
  readonly path: string | undefined;
  /** A few characters of the line from a little before the difference, and of the canonical line. */
  readonly found: string;
  readonly expected: string;
}

const EXCERPT_BEFORE = 12;
const EXCERPT_LENGTH = 40;

/** Where `line` (which parses as JSON) first differs from `canonical`; undefined when they are equal. */
export function firstDifference(line: string, canonical: string): LineDifference | undefined {
  if (line === canonical) return undefined;
  let index = 0;
  const end = Math.min(line.length, canonical.length);
  while (index < end && line.charCodeAt(index) === canonical.charCodeAt(index)) index += 1;
  // Point at the start of a character, not into a surrogate pair.
  if (index > 0 && isHighSurrogate(line.charCodeAt(index - 1))) index -= 1;
  const from = Math.max(0, index - EXCERPT_BEFORE);
  return {
    byte: Buffer.byteLength(line.slice(0, index)),
    path: pathAt(line, index),
    found: excerpt(line, from),
    expected: excerpt(canonical, from),
  };
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

function excerpt(text: string, from: number): string {
  const piece = text.slice(from, from + EXCERPT_LENGTH);
  // Control characters (a stray \r, a tab) are shown, not sent to the terminal.
  const shown = piece.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${from > 0 ? '…' : ''}${shown}${from + EXCERPT_LENGTH < text.length ? '…' : ''}`;
}

interface Frame {
  readonly array: boolean;
  /** The current member's key (object) or index (array); undefined between members. */
  key: string | number | undefined;
}

/**
 * The member of the JSON text that holds position `index`: the first token that does not end
 * before it (so whitespace or a comma counts towards the member that follows), named by its
 * path. The text parsed as JSON, so the scan can be simple.
 */
function pathAt(text: string, index: number): string | undefined {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const top = stack.at(-1);
    if (c === '"') {
      const close = stringEnd(text, i);
      if (top !== undefined && !top.array && top.key === undefined) top.key = JSON.parse(text.slice(i, close)) as string;
      if (close > index) return formatPath(stack);
      i = close;
    } else if (c === '{' || c === '[') {
      if (i >= index) return formatPath(stack);
      stack.push({ array: c === '[', key: c === '[' ? 0 : undefined });
      i += 1;
    } else if (c === '}' || c === ']') {
      if (i >= index) return formatPath(stack.slice(0, -1));
      stack.pop();
      i += 1;
    } else if (c === ',') {
      if (top !== undefined) top.key = top.array ? (top.key as number) + 1 : undefined;
      i += 1;
    } else if (c === ':' || c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i += 1;
    } else {
      // A number, true, false or null: up to the next delimiter.
      let close = i + 1;
      while (close < text.length && !',]} \t\r\n'.includes(text[close]!)) close += 1;
      if (close > index) return formatPath(stack);
      i = close;
    }
  }
  return undefined;
}

/** The index just past the closing quote of the string starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(stack: readonly Frame[]): string {
  let path = '';
  for (const { key } of stack) {
    if (typeof key === 'number') path += `[${key}]`;
    else if (key !== undefined) path += IDENTIFIER.test(key) ? `${path === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
  }
  return path;
}
