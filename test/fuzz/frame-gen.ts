// Seeded frames for the one-reading property test and fuzzer: valid MCP frames both ways, and
// the same mutated the ways peers read differently (case variants, duplicate names, CRs,
// escapes, alias and out-of-range ids, deep nesting, invalid UTF-8, batches, line ends) or
// simply broken (flipped, cut, spliced bytes). Same seed, same frames.
import { seededRandom } from '../helpers/seeded-random.js';

export class Rng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }
  float(): number {
    return this.#next();
  }
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** A JSON value as generated: members in order (duplicates allowed), `raw` for text written as is. */
export type Value =
  | { k: 'obj'; m: Member[] }
  | { k: 'arr'; a: Value[] }
  | { k: 'str'; s: string }
  | { k: 'raw'; t: string };
export interface Member {
  name: string;
  value: Value;
  /** Write the name with `\u` escapes for some of its characters. */
  escapeName?: boolean;
}

const obj = (entries: Array<[string, Value]>): Value => ({ k: 'obj', m: entries.map(([name, value]) => ({ name, value })) });
const str = (s: string): Value => ({ k: 'str', s });
const raw = (t: string): Value => ({ k: 'raw', t });

const TOOLS = ['read_file', 'read_file', 'echo', 'echo', 'delete_file', 'list_dir', 'get_info', 'write_file', 'search_docs', 'read_secrets'];
const PATHS = ['/workspace/a.txt', '/workspace/dir/b.md', '/workspace/é 漢.txt', '/etc/passwd', '/workspace/../etc/shadow', 'relative.txt', '/workspace'];
const WORDS = ['a', 'path', 'text', 'mode', 'x', 'Key', 'é', '漢字', 'straße', 'ſ', 'k', 'Ü', 'data', 'name', 'id', 'method', 'arguments', '_meta'];
const TEXTS = ['hello', '', 'é漢😀', 'line\nbreak', 'tab\there', 'quote"back\\slash', '\u2028sep', 'AKIAIOSFODNN7EXAMPLE', 'ſtraße ẞ K', '\u0000nul'];
const NUMBERS = ['0', '1', '-1', '1.5', '1.0', '1e2', '-0', '0.1', '123456', '2.5E-3', '9007199254740991'];
const RARE_NUMBERS = ['12345678901234567890', '1e400', '-1e400', '9007199254740993'];

function randomText(rng: Rng): string {
  if (rng.chance(0.6)) return rng.pick(TEXTS);
  let s = '';
  const n = rng.int(12);
  for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.pick([0x61 + rng.int(26), 0x41 + rng.int(26), 0xe9, 0x17f, 0x212a, 0xdf, 0x1e9e, 0x130, 0x3c3, 0x3c2, 0x1f600, 0x20 + rng.int(95)]));
  return s;
}

export function randomValue(rng: Rng, depth = 0, rareNumbers = 0): Value {
  const r = rng.int(depth > 2 ? 4 : 7);
  switch (r) {
    case 0:
      return str(randomText(rng));
    case 1:
      return raw(rareNumbers > 0 && rng.chance(rareNumbers) ? rng.pick(RARE_NUMBERS) : rng.pick(NUMBERS));
    case 2:
      return raw(rng.pick(['true', 'false', 'null']));
    case 3:
      return str(rng.pick(PATHS));
    case 4:
    case 5: {
      const n = rng.int(4);
      const entries: Array<[string, Value]> = [];
      const used = new Set<string>();
      for (let i = 0; i < n; i++) {
        const name = rng.pick(WORDS);
        if (used.has(name)) continue;
        used.add(name);
        entries.push([name, randomValue(rng, depth + 1, rareNumbers)]);
      }
      return obj(entries);
    }
    default:
      return { k: 'arr', a: Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1, rareNumbers)) };
  }
}

/** Options for how text is written: escapes and whitespace. */
interface Style {
  readonly escapes: number;
  readonly spaces: number;
}

function hex4(code: number, rng: Rng): string {
  const h = code.toString(16).padStart(4, '0');
  return `\\u${rng.chance(0.5) ? h : h.toUpperCase()}`;
}

function writeString(s: string, rng: Rng, style: Style, forceEscape = false): string {
  const plain = JSON.stringify(s);
  if (!forceEscape && (style.escapes === 0 || !rng.chance(style.escapes * 4))) return plain;
  // Re-escape some characters as \uXXXX (surrogate pairs as two escapes), some `/` as `\/`.
  let out = '"';
  const inner = plain.slice(1, -1);
  let escapedOne = false;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\') {
      const next = inner[i + 1]!;
      out += c + next;
      i++;
      if (next === 'u') {
        out += inner.slice(i + 1, i + 5);
        i += 4;
      }
      continue;
    }
    const last = i === inner.length - 1 && !escapedOne;
    if (c === '/' && rng.chance(0.5)) out += '\\/';
    else if ((forceEscape && (last || rng.chance(0.5))) || rng.chance(style.escapes)) {
      escapedOne = true;
      out += hex4(c.charCodeAt(0), rng);
    } else out += c;
  }
  return `${out}"`;
}

function space(rng: Rng, style: Style): string {
  return style.spaces > 0 && rng.chance(style.spaces) ? rng.pick([' ', '  ', '\t', ' \t']) : '';
}

export function writeValue(v: Value, rng: Rng, style: Style): string {
  switch (v.k) {
    case 'str':
      return writeString(v.s, rng, style);
    case 'raw':
      return v.t;
    case 'arr':
      return `[${space(rng, style)}${v.a.map((item) => writeValue(item, rng, style)).join(`,${space(rng, style)}`)}${space(rng, style)}]`;
    case 'obj':
      return `{${space(rng, style)}${v.m.map((member) => `${writeString(member.name, rng, style, member.escapeName)}${space(rng, style)}:${space(rng, style)}${writeValue(member.value, rng, style)}`).join(`,${space(rng, style)}`)}${space(rng, style)}}`;
  }
}

// --- ids
export class IdSource {
  #n = 0;
  /** Ids (JSON text) used lately: alias material. */
  readonly recent: string[] = [];
  constructor(readonly prefix: string) {}

  next(rng: Rng): string {
    const n = ++this.#n;
    const id = rng.pick([String(n + 1000), `"${this.prefix}-${n}"`, `${n + 1000}.0`, `"${this.prefix}-${n}-é"`]);
    this.recent.push(id);
    if (this.recent.length > 16) this.recent.shift();
    return id;
  }
}

/** Another spelling of the same id (by value), or the same. */
export function aliasOf(id: string, rng: Rng): string {
  if (id.startsWith('"')) {
    const s = JSON.parse(id) as string;
    return rng.chance(0.5) ? id : `"${[...s].map((c, i) => (i === 0 ? hex4(c.charCodeAt(0), rng) : c)).join('')}"`;
  }
  const value = Number(id);
  return rng.pick([String(value), `${value}.0`, `${value}0e-1`, `${value * 10}e-1`, `${value}E0`, value === 0 ? '-0' : `${value}.00`]);
}

const BAD_IDS = ['null', 'true', '{}', '[]', '{"a":1}', '9007199254740993', '-9007199254740993', '1e400', '"\\q"', '"\\u12"', '[1,,2]', '{"a":}', '1.5', '"\\ud800"', '-0', '0', '""'];

// --- frames (as values, before mutation)
export function clientMessage(rng: Rng, ids: IdSource, rareNumbers = 0): Value {
  const kind = rng.int(20);
  const id = raw(ids.next(rng));
  const base = (method: string, params?: Value, withId = true): Value => obj([
    ['jsonrpc', str('2.0')], ...(withId ? [['id', id] as [string, Value]] : []), ['method', str(method)], ...(params === undefined ? [] : [['params', params] as [string, Value]]),
  ]);
  if (kind < 9) {
    const name = rng.pick(TOOLS);
    const args: Array<[string, Value]> = [];
    if (name.startsWith('read_') || rng.chance(0.3)) args.push(['path', str(rng.pick(PATHS))]);
    if (rng.chance(0.4)) args.push(['mode', randomValue(rng, 1, rareNumbers)]);
    if (rng.chance(0.3)) args.push([rng.pick(['text', 'encoding', 'n', 'nested']), randomValue(rng, 1, rareNumbers)]);
    if (rng.chance(0.1)) args.push([rng.pick(['straße', 'Kelvin', 'class']), randomValue(rng, 2)]);
    const params: Array<[string, Value]> = [['name', str(name)], ['arguments', obj(args)]];
    if (rng.chance(0.2)) params.push(['_meta', obj([['progressToken', raw(String(rng.int(100)))]])]);
    return base('tools/call', obj(params));
  }
  switch (kind) {
    case 9:
    case 10:
      return base('ping');
    case 11:
      return base('tools/list', rng.chance(0.5) ? obj([]) : undefined);
    case 12:
      return base('resources/read', obj([['uri', str(rng.pick(['file:///workspace/a.txt', 'file:///etc/passwd', 'https://example.com/x']))]]));
    case 13:
      return base('prompts/get', obj([['name', str('summarize')], ['arguments', obj([['topic', str(randomText(rng))]])]]));
    case 14:
      return base('initialize', obj([['protocolVersion', str('2025-06-18')], ['capabilities', obj([])], ['clientInfo', obj([['name', str('fuzz')], ['version', str('1')]])]]));
    case 15:
      return base('notifications/initialized', undefined, false);
    case 16:
      return base('notifications/cancelled', obj([['requestId', raw(ids.recent.length > 0 ? rng.pick(ids.recent) : '1')], ['reason', str('fuzz')]]), false);
    case 17:
      return base(rng.pick(['x/unknown', 'tools/delete', 'sampling/createMessage', 'resources/subscribe']), randomValue(rng, 1, rareNumbers));
    case 18:
      // the client's answer to a server request
      return obj([['jsonrpc', str('2.0')], ['id', raw(ids.recent.length > 0 ? rng.pick(ids.recent) : '"s-1"')], ['result', obj([['role', str('assistant')]])]]);
    default:
      return base('notifications/progress', obj([['progressToken', raw('1')], ['progress', raw(rng.pick(NUMBERS))]]), false);
  }
}

/** A frame the server writes: a response to one of `answerable` (ids as JSON text) when any, a request, or a notification. */
export function serverMessage(rng: Rng, ids: IdSource, answerable: readonly string[]): Value {
  const kind = rng.int(10);
  if (kind < 6 && answerable.length > 0) {
    const id = raw(rng.chance(0.15) ? aliasOf(rng.pick(answerable), rng) : rng.pick(answerable));
    if (kind === 5) return obj([['jsonrpc', str('2.0')], ['id', id], ['error', obj([['code', raw('-32000')], ['message', str(randomText(rng))], ['data', randomValue(rng, 1)]])]]);
    const content = { k: 'arr', a: [obj([['type', str('text')], ['text', str(randomText(rng))]])] } as Value;
    const result: Array<[string, Value]> = [['content', content]];
    if (rng.chance(0.3)) result.push(['structuredContent', randomValue(rng, 1)]);
    if (rng.chance(0.2)) result.push(['isError', raw('false')]);
    if (rng.chance(0.2)) result.push(['tools', { k: 'arr', a: [obj([['name', str(rng.pick(TOOLS))], ['inputSchema', obj([['type', str('object')]])]])] }]);
    return obj([['jsonrpc', str('2.0')], ['id', id], ['result', obj(result)]]);
  }
  if (kind < 8) {
    const method = rng.pick(['sampling/createMessage', 'roots/list', 'elicitation/create', 'ping']);
    const params = method === 'sampling/createMessage'
      ? obj([['messages', { k: 'arr', a: [obj([['role', str('user')], ['content', obj([['type', str('text')], ['text', str(randomText(rng))]])]])] }], ['maxTokens', raw('100')]])
      : obj([]);
    return obj([['jsonrpc', str('2.0')], ['id', raw(ids.next(rng))], ['method', str(method)], ['params', params]]);
  }
  return obj([['jsonrpc', str('2.0')], ['method', str(rng.pick(['notifications/message', 'notifications/progress', 'notifications/tools/list_changed']))], ['params', obj([['level', str('info')], ['data', randomValue(rng, 1)]])]]);
}

// --- mutations on values
const CASE_SWAPS: Array<[RegExp, string]> = [[/s/, 'ſ'], [/k/, '\u212a'], [/K/, '\u212a'], [/S/, 'ſ'], [/ss/, 'ß'], [/ß/, 'ẞ'], [/i/, 'ı'], [/I/, 'İ']];

export function caseVariant(name: string, rng: Rng): string {
  if (name.includes('ß') && rng.chance(0.5)) return name.replace('ß', 'ẞ');
  if (rng.chance(0.25)) {
    const [pattern, to] = rng.pick(CASE_SWAPS);
    if (pattern.test(name)) return name.replace(pattern, to);
  }
  const letters = [...name].map((c, i) => [c, i] as const).filter(([c]) => c.toLowerCase() !== c.toUpperCase());
  if (letters.length === 0) return `${name}X`;
  const [c, i] = rng.pick(letters);
  const chars = [...name];
  chars[i] = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
  return chars.join('');
}

/** Every object in the value, with its path depth, outermost first. */
function objects(v: Value, out: Array<Extract<Value, { k: 'obj' }>> = []): Array<Extract<Value, { k: 'obj' }>> {
  if (v.k === 'obj') {
    out.push(v);
    for (const m of v.m) objects(m.value, out);
  } else if (v.k === 'arr') {
    for (const item of v.a) objects(item, out);
  }
  return out;
}

function strings(v: Value, out: Array<Extract<Value, { k: 'str' }>> = []): Array<Extract<Value, { k: 'str' }>> {
  if (v.k === 'str') out.push(v);
  else if (v.k === 'obj') for (const m of v.m) strings(m.value, out);
  else if (v.k === 'arr') for (const item of v.a) strings(item, out);
  return out;
}

/** Objects where names matter most: the message, its params, result, error, and arguments. */
function keyObjects(v: Value): Array<Extract<Value, { k: 'obj' }>> {
  const all = objects(v);
  if (v.k !== 'obj') return all;
  const found = [v];
  for (const m of v.m) {
    if (m.value.k === 'obj') {
      found.push(m.value);
      for (const inner of m.value.m) if (inner.value.k === 'obj') found.push(inner.value);
    }
  }
  return found;
}

function clone(v: Value): Value {
  return JSON.parse(JSON.stringify(v)) as Value;
}

/** One structural mutation, in place. Returns a label. */
export function mutateValue(v: Value, rng: Rng, ids: IdSource): string {
  const targets = rng.chance(0.7) ? keyObjects(v) : objects(v);
  const target = targets.length > 0 ? rng.pick(targets) : undefined;
  const choice = rng.int(12);
  if (target !== undefined && target.m.length > 0) {
    const member = rng.pick(target.m);
    switch (choice) {
      case 0:
      case 1:
        member.name = caseVariant(member.name, rng);
        return 'case-variant';
      case 2:
        target.m.splice(rng.int(target.m.length + 1), 0, { name: member.name, value: rng.chance(0.5) ? clone(member.value) : randomValue(rng, 2), escapeName: rng.chance(0.4) });
        return 'duplicate';
      case 3:
        target.m.splice(rng.int(target.m.length + 1), 0, { name: caseVariant(member.name, rng), value: randomValue(rng, 2) });
        return 'fold-sibling';
      case 4:
        member.escapeName = true;
        return 'escaped-name';
      case 5:
        target.m.splice(target.m.indexOf(member), 1);
        return 'remove-member';
      default:
        break;
    }
  }
  if (v.k === 'obj') {
    const idMember = v.m.find((m) => m.name === 'id');
    if (choice === 6 && idMember !== undefined) {
      idMember.value = raw(rng.chance(0.5) && ids.recent.length > 0 ? aliasOf(rng.pick(ids.recent), rng) : rng.pick(BAD_IDS));
      return 'id';
    }
  }
  const texts = strings(v);
  if (choice === 7 && texts.length > 0) {
    const s = rng.pick(texts) as Value;
    const text = (s as { s: string }).s;
    const at = rng.int(text.length + 1);
    const escape = rng.pick(['\\ud800', '\\udc00', '\\ud83d\\u0041', '\\q', '\\u12', '\\x41', "\\'", '\\ud83d\\ude00', '\\u0000', '\\u2028']);
    Object.assign(s, { k: 'raw', t: `"${JSON.stringify(text.slice(0, at)).slice(1, -1)}${escape}${JSON.stringify(text.slice(at)).slice(1, -1)}"` });
    return 'escape';
  }
  if (choice === 8 && target !== undefined) {
    const depth = rng.pick([3, 100, 505, 508, 509, 510, 511, 512, 600]);
    target.m.push({ name: 'deep', value: raw(`${'['.repeat(depth)}${']'.repeat(depth)}`) });
    return 'nesting';
  }
  if (choice === 9 && target !== undefined && rng.chance(0.3)) {
    target.m.push({ name: rng.pick(WORDS), value: raw(rng.pick(RARE_NUMBERS)) });
    return 'big-number';
  }
  if (v.k === 'obj') {
    const method = v.m.find((m) => m.name === 'method');
    if (choice === 10 && method !== undefined) {
      method.value = rng.chance(0.5) ? raw(rng.pick(['1', 'null', '["ping"]'])) : str(caseVariant((method.value as { s?: string }).s ?? 'ping', rng));
      return 'method';
    }
  }
  if (target !== undefined) {
    target.m.push({ name: rng.pick(WORDS), value: randomValue(rng, 2) });
    return 'extra-member';
  }
  return 'none';
}

// --- mutations on bytes
const BAD_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80], [0xf5, 0x80, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0xc3]];
const JUNK = [',,', '{"a":}', ']', '}', '[1,,2]', '"', '\\', ':', ' ', '\t', '\u0001', '\u000b', 'NaN', '\\q', '"\\u12"'];

function insert(b: Buffer, at: number, bytes: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
}

/** A byte-level mutation of the frame's JSON text (no line end). Returns the bytes and a label. */
export function mutateBytes(text: Buffer, rng: Rng): [Buffer, string] {
  const at = rng.int(text.length + 1);
  switch (rng.int(9)) {
    case 0:
    case 1:
      return [insert(text, at, Buffer.from('\r')), 'cr'];
    case 2:
      return [insert(text, at, Buffer.from(rng.pick(BAD_UTF8))), 'utf8'];
    case 3: {
      const copy = Buffer.from(text);
      if (copy.length > 0) copy[rng.int(copy.length)] = rng.pick([0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x30 + rng.int(10), 0x41 + rng.int(26), 0x0d, 0x00]);
      return [copy, 'flip'];
    }
    case 4: {
      const to = Math.min(text.length, at + 1 + rng.int(8));
      return [Buffer.concat([text.subarray(0, at), text.subarray(to)]), 'delete'];
    }
    case 5:
      return [text.subarray(0, at), 'truncate'];
    case 6:
      return [insert(text, at, Buffer.from(rng.pick(JUNK))), 'junk'];
    case 7:
      return [insert(text, at, Buffer.from('\n')), 'newline'];
    default:
      return [Buffer.concat([text, Buffer.from(rng.pick(['\r', '\r\r', ' \r', '\t', ' ']))]), 'tail'];
  }
}

export interface GeneratedFrame {
  /** The line as written: JSON text and its line end. */
  readonly bytes: Buffer;
  /** What was done to it ('valid' when nothing). */
  readonly labels: readonly string[];
}

export interface FrameMix {
  /** Chance that a frame gets structural mutations. */
  readonly structural: number;
  /** Chance that a frame gets byte mutations. */
  readonly bytes: number;
  /** Chance that a frame is a batch. */
  readonly batch: number;
  /** Chance of a number beyond what a double holds exactly, in random values. */
  readonly rareNumbers: number;
}

export const DEFAULT_MIX: FrameMix = { structural: 0.45, bytes: 0.2, batch: 0.06, rareNumbers: 0.02 };

/** Writes a message (or batch) with a line end, mutated per `mix`. */
export function finishFrame(values: Value[], rng: Rng, ids: IdSource, mix: FrameMix): GeneratedFrame {
  const labels: string[] = [];
  for (const v of values) {
    if (rng.chance(mix.structural)) {
      const n = 1 + (rng.chance(0.3) ? 1 : 0);
      for (let i = 0; i < n; i++) labels.push(mutateValue(v, rng, ids));
    }
  }
  const style: Style = { escapes: rng.chance(0.2) ? 0.1 : 0, spaces: rng.chance(0.15) ? 0.3 : 0 };
  const written = values.map((v) => writeValue(v, rng, style));
  let text: Buffer = Buffer.from(values.length === 1 && !rng.chance(0.02) ? written[0]! : `[${written.join(',')}]`);
  if (rng.chance(mix.bytes)) {
    const [mutated, label] = mutateBytes(text, rng);
    text = mutated;
    labels.push(label);
  }
  const lineEnd = rng.chance(0.15) ? '\r\n' : '\n';
  return { bytes: Buffer.concat([text, Buffer.from(lineEnd)]), labels: labels.length === 0 ? ['valid'] : labels };
}

export function clientFrame(rng: Rng, ids: IdSource, mix: FrameMix = DEFAULT_MIX): GeneratedFrame {
  const count = rng.chance(mix.batch) ? rng.int(4) + (rng.chance(0.1) ? 0 : 1) : 1;
  const values = Array.from({ length: Math.max(1, count) }, () => clientMessage(rng, ids, mix.rareNumbers));
  if (count === 0) return { bytes: Buffer.from('[]\n'), labels: ['empty-batch'] };
  const frame = finishFrame(values, rng, ids, mix);
  return count > 1 ? { bytes: frame.bytes, labels: ['batch', ...frame.labels] } : frame;
}

export function serverFrame(rng: Rng, ids: IdSource, answerable: readonly string[], mix: FrameMix = DEFAULT_MIX): GeneratedFrame {
  const count = rng.chance(mix.batch) ? 2 + rng.int(2) : 1;
  const values = Array.from({ length: count }, () => serverMessage(rng, ids, answerable));
  const frame = finishFrame(values, rng, ids, mix);
  return count > 1 ? { bytes: frame.bytes, labels: ['batch', ...frame.labels] } : frame;
}
