// How conforming peers read a line the proxy forwarded, for the one-reading differential
// property (issue 12). Written from the specifications, not from the proxy's code:
//   (a) JSON.parse per `\n` line (the TypeScript SDK's stdio reader);
//   (b) a universal-newline reader (Python's TextIOWrapper: `\r`, `\n` and `\r\n` end a line)
//       and Python's json (integers exact, arbitrary precision);
//   (c) Go's encoding/json (v1) decoding into structs: a member name matches a field exactly,
//       else by Unicode simple case folding; for a name twice, the last one wins; invalid UTF-8
//       and lone surrogate escapes become U+FFFD; a number beyond float64 fails to decode;
//   (d) a strict UTF-8 decoder.
// checkForwarded(line, judged) lists every way these readings differ from one another and from
// what the policy judged.
import { isUtf8 } from 'node:buffer';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [name: string]: JsonValue };

/** A JSON value as a decoder that keeps every member, in order, duplicates included, sees it. */
export type Node =
  | { readonly t: 'object'; readonly members: ReadonlyArray<readonly [string, Node]>; readonly start: number; readonly end: number }
  | { readonly t: 'array'; readonly items: readonly Node[]; readonly start: number; readonly end: number }
  | { readonly t: 'string'; readonly value: string }
  | { readonly t: 'number'; readonly text: string }
  | { readonly t: 'literal'; readonly value: boolean | null };

export class ReadError extends Error {}

const GO_MAX_DEPTH = 10_000;

/**
 * Reads one JSON text from bytes as Go's encoding/json does: RFC 8259 grammar, whitespace
 * space/tab/CR/LF, invalid UTF-8 and lone surrogate escapes replaced by U+FFFD. Throws ReadError.
 */
export function readGoNode(bytes: Buffer, from = 0, to = bytes.length): Node {
  let i = from;
  const ws = (): void => {
    while (i < to && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  };
  const fail = (what: string): never => {
    throw new ReadError(`${what} at byte ${i}`);
  };
  const hex4 = (at: number): number => {
    if (at + 4 > to) fail('short \\u escape');
    const text = bytes.toString('latin1', at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(text)) fail('bad \\u escape');
    return parseInt(text, 16);
  };
  const string = (): string => {
    i++; // the opening quote
    let out = '';
    for (;;) {
      if (i >= to) fail('unterminated string');
      const c = bytes[i]!;
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in a string');
      if (c === 0x5c) {
        const e = bytes[i + 1];
        const simple: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
        if (e !== undefined && simple[e] !== undefined && i + 1 < to) {
          out += simple[e];
          i += 2;
          continue;
        }
        if (e !== 0x75) fail('bad escape');
        const unit = hex4(i + 2);
        i += 6;
        if (unit >= 0xd800 && unit <= 0xdbff && bytes[i] === 0x5c && bytes[i + 1] === 0x75 && i + 6 <= to) {
          const low = hex4(i + 2);
          if (low >= 0xdc00 && low <= 0xdfff) {
            out += String.fromCharCode(unit, low);
            i += 6;
            continue;
          }
        }
        out += unit >= 0xd800 && unit <= 0xdfff ? '\ufffd' : String.fromCharCode(unit);
        continue;
      }
      if (c < 0x80) {
        out += String.fromCharCode(c);
        i++;
        continue;
      }
      const [cp, size] = decodeRune(bytes, i, to);
      out += String.fromCodePoint(cp);
      i += size;
    }
  };
  const value = (depth: number): Node => {
    if (depth > GO_MAX_DEPTH) fail('nesting too deep');
    ws();
    if (i >= to) fail('unexpected end');
    const c = bytes[i]!;
    if (c === 0x7b) {
      const start = i++;
      const members: Array<readonly [string, Node]> = [];
      ws();
      if (bytes[i] === 0x7d && i < to) {
        i++;
        return { t: 'object', members, start, end: i };
      }
      for (;;) {
        ws();
        if (bytes[i] !== 0x22 || i >= to) fail('expected a member name');
        const name = string();
        ws();
        if (bytes[i] !== 0x3a || i >= to) fail("expected ':'");
        i++;
        members.push([name, value(depth + 1)]);
        ws();
        if (bytes[i] === 0x2c && i < to) {
          i++;
          continue;
        }
        if (bytes[i] === 0x7d && i < to) {
          i++;
          return { t: 'object', members, start, end: i };
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === 0x5b) {
      const start = i++;
      const items: Node[] = [];
      ws();
      if (bytes[i] === 0x5d && i < to) {
        i++;
        return { t: 'array', items, start, end: i };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (bytes[i] === 0x2c && i < to) {
          i++;
          continue;
        }
        if (bytes[i] === 0x5d && i < to) {
          i++;
          return { t: 'array', items, start, end: i };
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === 0x22) return { t: 'string', value: string() };
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (bytes.toString('latin1', i, Math.min(to, i + word.length)) === word) {
        i += word.length;
        return { t: 'literal', value: literal };
      }
    }
    const match = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(bytes.toString('latin1', i, Math.min(to, i + 1100)));
    if (match === null || match[0] === '') fail('unexpected character');
    i += match![0].length;
    return { t: 'number', text: match![0] };
  };
  const node = value(0);
  ws();
  if (i !== to) fail('data after the value');
  return node;
}

/** One UTF-8 sequence at `i` as Go's utf8.DecodeRune reads it: [code point, size]; an invalid one is [U+FFFD, 1]. */
function decodeRune(b: Buffer, i: number, to: number): [number, number] {
  const c0 = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < to && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf && cont(1)) return [((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2];
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80, hi = c0 === 0xed ? 0x9f : 0xbf;
    if (cont(1, lo, hi) && cont(2)) return [((c0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80, hi = c0 === 0xf4 ? 0x8f : 0xbf;
    if (cont(1, lo, hi) && cont(2) && cont(3)) return [((c0 & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f), 4];
  }
  return [0xfffd, 1];
}

// --- Unicode simple case folding, as Go's encoding/json folds names (fold.go: each rune to the
// smallest rune of its unicode.SimpleFold orbit; ASCII to upper case). Node has no API for it,
// but a /iu regular expression compares by exactly that folding (ECMA-262 Canonicalize with
// CaseFolding.txt's simple and common mappings): the orbit of a character is what such an
// expression matches among the characters that have a case mapping.
let orbitMin: Map<number, number> | undefined;

function buildOrbits(): Map<number, number> {
  const cased: string[] = [];
  for (let c = 0x41; c < 0x20000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const s = String.fromCodePoint(c);
    if (s.toLowerCase() !== s || s.toUpperCase() !== s) cased.push(s);
  }
  const all = cased.join('');
  const table = new Map<number, number>();
  for (const s of cased) {
    const self = s.codePointAt(0)!;
    let min = self;
    for (const match of all.matchAll(new RegExp(s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), 'giu'))) min = Math.min(min, match[0].codePointAt(0)!);
    table.set(self, min);
  }
  return table;
}

/** Go's foldName: names that match one field without regard to case fold to one string. */
export function goFold(name: string): string {
  let out = '';
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += cp >= 0x61 && cp <= 0x7a ? String.fromCharCode(cp - 0x20) : ch;
      continue;
    }
    orbitMin ??= buildOrbits();
    out += String.fromCodePoint(orbitMin.get(cp) ?? cp);
  }
  return out;
}

/** The member Go's decoder stores in `field` of a struct whose fields are `fields`: exact match first, else folded; the last such member wins. */
export function goMember(node: Node, field: string, fields: ReadonlySet<string>): { readonly name: string; readonly value: Node } | undefined {
  if (node.t !== 'object') return undefined;
  let found: { name: string; value: Node } | undefined;
  const folded = goFold(field);
  for (const [name, value] of node.members) {
    if (name === field || (!fields.has(name) && goFold(name) === folded)) found = { name, value };
  }
  return found;
}

export function goField(node: Node, field: string, fields: ReadonlySet<string>): Node | undefined {
  return goMember(node, field, fields)?.value;
}

/**
 * The class of a case-folding difference, by the name Go matched: an all-lowercase spelling of
 * a camelCase field (`requestid`), ß/ẞ, or another.
 */
function foldKind(name: string | undefined): string {
  if (name === undefined) return 'go-field';
  if (/^[\x00-\x7f]*$/.test(name) && name === name.toLowerCase()) return 'go-field-lowercase';
  if (/[ßẞ]/.test(name)) return 'go-field-sharp-s';
  return 'go-field';
}

/** The node decoded into interface{} by Go: maps (exact names, last wins), float64 numbers (a number beyond float64 fails). */
export function goValue(node: Node): JsonValue {
  switch (node.t) {
    case 'object': {
      const out: { [name: string]: JsonValue } = Object.create(null) as { [name: string]: JsonValue };
      for (const [name, value] of node.members) out[name] = goValue(value);
      return out;
    }
    case 'array':
      return node.items.map(goValue);
    case 'string':
    case 'literal':
      return node.value;
    case 'number': {
      const value = Number(node.text);
      if (!Number.isFinite(value)) throw new ReadError(`number ${node.text.slice(0, 40)} is beyond float64 (Go: UnmarshalTypeError)`);
      return value;
    }
  }
}

/** Integer literals whose exact value (Python's int) differs from the double JSON.parse reads. */
export function inexactIntegers(node: Node, out: string[] = []): string[] {
  switch (node.t) {
    case 'object':
      for (const [, value] of node.members) inexactIntegers(value, out);
      break;
    case 'array':
      for (const item of node.items) inexactIntegers(item, out);
      break;
    case 'number':
      if (/^-?[0-9]+$/.test(node.text) && node.text.replace(/^-/, '').length > 15) {
        const exact = BigInt(node.text);
        const read = Number(node.text);
        if (!Number.isFinite(read) || BigInt(read) !== exact) out.push(node.text);
      }
      break;
    default:
      break;
  }
  return out;
}

/** Deep equality of JSON values (0 and -0 equal, as every peer compares numbers). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => sameJson(item, other[index]));
  }
  const aKeys = Object.keys(a), bKeys = Object.keys(b);
  return aKeys.length === bKeys.length && aKeys.every((key) => Object.hasOwn(b, key) && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

const TOP_FIELDS = new Set(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);
const PARAM_FIELDS = new Set(['name', 'arguments', '_meta', 'uri', 'cursor', 'requestId', 'progressToken', 'progress', 'reason', 'level', 'data', 'protocolVersion', 'capabilities', 'clientInfo', 'messages', 'maxTokens']);
const RESULT_FIELDS = new Set(['content', 'isError', 'structuredContent', 'tools', 'nextCursor', '_meta', 'contents', 'messages', 'role', 'model', 'protocolVersion', 'capabilities', 'serverInfo']);
const ERROR_FIELDS = new Set(['code', 'message', 'data']);

/** What the policy read of a frame (FrameContext.method and .body()). */
export interface Judged {
  readonly method: string;
  readonly body: unknown;
}

/** One way the readings of a forwarded line differ. `kind` names the class (for known gaps). */
export interface Violation {
  readonly kind: string;
  readonly message: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

/** Where Go's reading of one message differs from JSON.parse's (`js`). */
function compareGo(js: unknown, node: Node, where: string, out: Violation[]): void {
  if (!isRecord(js) || node.t !== 'object') {
    try {
      if (!sameJson(goValue(node), js)) out.push({ kind: 'go-value', message: `${where}: Go reads ${show(goValue(node))}, JSON.parse ${show(js)}` });
    } catch (error) {
      out.push({ kind: 'go-number', message: `${where}: ${(error as Error).message}` });
    }
    return;
  }
  for (const field of TOP_FIELDS) {
    const matched = goMember(node, field, TOP_FIELDS);
    const goNode = matched?.value;
    const jsHas = Object.hasOwn(js, field);
    if ((goNode !== undefined) !== jsHas) {
      out.push({ kind: foldKind(matched?.name), message: `${where}: member ${field} is ${jsHas ? 'absent' : 'present'} for Go (case-insensitive names), ${jsHas ? 'present' : 'absent'} for JSON.parse` });
      continue;
    }
    if (goNode === undefined) continue;
    const fields = field === 'params' ? PARAM_FIELDS : field === 'result' ? RESULT_FIELDS : field === 'error' ? ERROR_FIELDS : undefined;
    if (fields !== undefined && isRecord(js[field]) && goNode.t === 'object') {
      compareStruct(js[field] as Record<string, unknown>, goNode, fields, `${where}.${field}`, out);
      continue;
    }
    try {
      const value = goValue(goNode);
      if (!sameJson(value, js[field])) out.push({ kind: foldKind(matched?.name), message: `${where}: ${field} is ${show(value)} for Go (member ${JSON.stringify(matched?.name)}), ${show(js[field])} for JSON.parse` });
    } catch (error) {
      out.push({ kind: 'go-number', message: `${where}.${field}: ${(error as Error).message}` });
    }
  }
}

function compareStruct(js: Record<string, unknown>, node: Node, fields: ReadonlySet<string>, where: string, out: Violation[]): void {
  try {
    if (!sameJson(goValue(node), js)) out.push({ kind: 'go-value', message: `${where}: Go reads ${show(goValue(node))}, JSON.parse ${show(js)}` });
  } catch (error) {
    out.push({ kind: 'go-number', message: `${where}: ${(error as Error).message}` });
    return;
  }
  for (const field of fields) {
    const matched = goMember(node, field, fields);
    const goNode = matched?.value;
    const jsHas = Object.hasOwn(js, field);
    if ((goNode !== undefined) !== jsHas) {
      out.push({ kind: foldKind(matched?.name), message: `${where}: member ${field} is ${jsHas ? 'absent' : 'present'} for Go (case-insensitive names), ${jsHas ? 'present' : 'absent'} for JSON.parse` });
      continue;
    }
    if (goNode === undefined) continue;
    const jsValue = js[field];
    if (field === 'arguments' && isRecord(jsValue) && goNode.t === 'object') {
      // A tool's arguments decoded into its own struct: each argument the policy read is a
      // field, matched as Go matches (no other field to prefer an exact match for).
      for (const name of Object.keys(jsValue)) {
        const arg = goMember(goNode, name, new Set([name]));
        const value = arg === undefined ? undefined : goValue(arg.value);
        if (!sameJson(value, jsValue[name])) out.push({ kind: foldKind(arg?.name), message: `${where}.arguments: argument ${JSON.stringify(name)} is ${show(value)} for Go (member ${JSON.stringify(arg?.name)}), ${show(jsValue[name])} for JSON.parse` });
      }
      continue;
    }
    const value = goValue(goNode);
    if (!sameJson(value, jsValue)) out.push({ kind: foldKind(matched?.name), message: `${where}: ${field} is ${show(value)} for Go (member ${JSON.stringify(matched?.name)}), ${show(jsValue)} for JSON.parse` });
  }
}

/** The parts of a message the policy acts on: its method, and for a call the tool's name and arguments. */
function compareJudged(js: unknown, judged: Judged, where: string, out: Violation[]): void {
  const body = judged.body;
  if (!isRecord(js) || !isRecord(body)) {
    if (!sameJson(js, body)) out.push({ kind: 'judged', message: `${where}: JSON.parse reads ${show(js)}, the policy judged ${show(body)}` });
    return;
  }
  // The method the rules were chosen by (for a response, the request's: not in the frame), and the one in the body they read.
  if ((typeof js.method === 'string' && js.method !== judged.method) || !sameJson(js.method, body.method)) {
    out.push({ kind: 'judged', message: `${where}: method ${show(js.method)}, the policy judged ${show(judged.method)} (body: ${show(body.method)})` });
  }
  const params = isRecord(js.params) ? js.params : undefined;
  const judgedParams = isRecord(body.params) ? body.params : undefined;
  if (!sameJson(params?.name, judgedParams?.name)) out.push({ kind: 'judged', message: `${where}: tool name ${show(params?.name)}, the policy judged ${show(judgedParams?.name)}` });
  if (!sameJson(params?.arguments, judgedParams?.arguments)) out.push({ kind: 'judged', message: `${where}: arguments ${show(params?.arguments)}, the policy judged ${show(judgedParams?.arguments)}` });
}

/** The line without its line end (`\n` or `\r\n`): the JSON text. */
export function lineText(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) {
    end--;
    if (end > 0 && line[end - 1] === 0x0d) end--;
  }
  return line.subarray(0, end);
}

/**
 * Every way the readers disagree about one forwarded line (its bytes up to and including its
 * `\n`). `judge(text)`: what the policy judged of a message, by its bytes (a lone frame, or a
 * member of a batch); undefined when no rule looked at it.
 */
export function checkForwarded(line: Buffer, judge?: (text: string) => Judged | undefined, options: { readonly requireJudged?: boolean } = {}): Violation[] {
  const out: Violation[] = [];
  if (line.length === 0 || line[line.length - 1] !== 0x0a) out.push({ kind: 'framing', message: 'the line does not end with \\n' });
  if (line.indexOf(0x0a) !== line.length - 1) out.push({ kind: 'framing', message: 'a \\n inside the frame: two lines' });
  // (d) strict UTF-8
  if (!isUtf8(line)) {
    out.push({ kind: 'utf8', message: 'not valid UTF-8' });
    return out;
  }
  const text = line.toString('utf8');
  // (a) JSON.parse per `\n` line
  let a: unknown;
  try {
    a = JSON.parse(text);
  } catch (error) {
    out.push({ kind: 'json-parse', message: `JSON.parse fails: ${(error as Error).message}` });
    return out;
  }
  // (b) universal newlines: exactly one line, read alike
  const pieces = text.split(/\r\n|\r|\n/).filter((piece) => piece.trim() !== '');
  if (pieces.length !== 1) {
    out.push({ kind: 'universal-newlines', message: `a universal-newline reader sees ${pieces.length} lines` });
  } else {
    try {
      if (!sameJson(JSON.parse(pieces[0]!), a)) out.push({ kind: 'universal-newlines', message: 'a universal-newline reader reads another value' });
    } catch (error) {
      out.push({ kind: 'universal-newlines', message: `a universal-newline reader's line is not JSON: ${(error as Error).message}` });
    }
  }
  // (c) Go's encoding/json
  const body = lineText(line);
  let node: Node;
  try {
    node = readGoNode(body);
  } catch (error) {
    out.push({ kind: 'go-read', message: `Go cannot read it: ${(error as Error).message}` });
    return out;
  }
  const messages: Array<[unknown, Node]> = node.t === 'array' && Array.isArray(a) ? node.items.map((item, k) => [(a as unknown[])[k], item]) : [[a, node]];
  for (const [k, [js, member]] of messages.entries()) {
    const where = messages.length > 1 || node.t === 'array' ? `member ${k + 1}` : 'frame';
    compareGo(js, member, where, out);
    // Python's json reads integers exactly: what it acts on must be what JSON.parse read.
    if (member.t === 'object') {
      const params = goField(member, 'params', TOP_FIELDS);
      const inexact = params === undefined ? [] : inexactIntegers(params);
      if (inexact.length > 0) out.push({ kind: 'python-int', message: `${where}.params: integer ${inexact[0]!.slice(0, 40)} is exact for Python, rounded for JSON.parse and Go` });
    }
    const judged = judge === undefined ? undefined : judge(member.t === 'object' || member.t === 'array' ? body.toString('utf8', member.start, member.end) : '');
    if (judged !== undefined) compareJudged(js, judged, where, out);
    else if (options.requireJudged && isRecord(js) && typeof js.method === 'string') out.push({ kind: 'unjudged', message: `${where}: forwarded, but the policy never judged it` });
  }
  return out;
}
