// `redact: { detectors, patterns?, in? }` - secrets in results travelling to the client, and in
// the server's log and progress notifications, are replaced by `[REDACTED:<detector>]` before
// the model reads them.
//
// What is scanned: tools/call `content[].text`, `content[].resource.text` and every string in
// `structuredContent`; resources/read `contents[].text`; prompts/get `messages[].content.text`
// (and `.resource.text`); for an error response, `error.message` and every string in
// `error.data`; notifications/message every string in `params.data`, notifications/progress
// `params.message`. Blobs (base64) are not scanned. The notifications pass the request phase
// (server to client), so a spec compiles to a response rule and a notification rule, each
// present when `in` (default: all five methods) names one of its methods.
//
// Split secrets: a server may cut its output into several text items, and a key cut in two is
// still a key. The texts of one array form a group: one `content`, one `contents`, one
// `messages`; in an array inside structuredContent, error.data or a log entry's data, the
// strings at the same path in its items (`items[*].part`: what content[*].text is to content).
// A group is scanned twice: joined without a separator (a secret across an item boundary is
// found as one match) and item by item (a secret whose end a detector recognizes by the
// character after it is not missed because the next item starts with a letter). The matches
// are merged where they overlap and mapped back to the items: each item a match touches has
// its part replaced by the marker, so the first half of a split key becomes `...[REDACTED:x]` and
// the second `[REDACTED:x]...`. Joining can over-redact (a password value that runs into the next
// item takes that item's first word with it); it cannot under-redact a secret any single item
// or the join contains. Strings of different members of one object are not joined: a secret
// ending one would take the next member's value with it.
//
// The verdict never carries a secret: its reason is `secret_redacted`, its body the redacted
// copy (sharing every object that did not change), its `changes` the number of secrets.
//
// Before parsing, the built-in detectors' anchors are looked for in the frame's bytes: a frame
// in which none can occur (most results) continues without being parsed (redaction-prefilter.ts).
import { useLogRedactor } from '../../logging/redact.js';
import type { RedactRule } from '../document/document.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { isRecord, type RuleContext } from './common.js';
import { BUILT_IN_DETECTORS, createPatternDetector, DETECTOR_NAMES, isSecretKey, type Detector, type SecretMatch } from './redaction-detectors.js';
import { RedactionPrefilter } from './redaction-prefilter.js';

// What `in` can name (all of them by default): the results of three requests, and two
// notifications of the server that carry text for the client (log entries, progress messages).
const RESULT_METHODS = ['tools/call', 'resources/read', 'prompts/get'] as const;
const NOTIFICATION_METHODS = ['notifications/message', 'notifications/progress'] as const;
const SCANNABLE = [...RESULT_METHODS, ...NOTIFICATION_METHODS] as const;

const defaultMarker = (detector: string): string => `[REDACTED:${detector}]`;

/** In one array's items, a path: the strings found there, and the paths under it by key. */
interface Column {
  members?: number[];
  keys?: Map<string, Column>;
}

/** Finds and merges the secrets in groups of texts; counts what it redacted. */
class Redactor {
  changes = 0;
  constructor(
    private readonly detectors: readonly Detector[],
    private readonly marker: (detector: string) => string = defaultMarker,
  ) {}

  private scan(text: string, offset: number, out: SecretMatch[]): void {
    if (offset === 0) {
      for (const detector of this.detectors) detector.find(text, out);
      return;
    }
    const local: SecretMatch[] = [];
    for (const detector of this.detectors) detector.find(text, local);
    for (const match of local) out.push({ start: match.start + offset, end: match.end + offset, name: match.name });
  }

  /**
   * The secrets of one group, merged, in the coordinates of its texts joined: each text scanned
   * alone (unless `joinOnly`: another group already did) and the texts joined.
   */
  private ranges(texts: readonly string[], joinOnly: boolean): { start: number; end: number; name: string }[] {
    const found: SecretMatch[] = [];
    if (texts.length === 1) {
      if (!joinOnly) this.scan(texts[0]!, 0, found);
    } else {
      if (!joinOnly) {
        let offset = 0;
        for (const text of texts) {
          if (text.length > 0) this.scan(text, offset, found);
          offset += text.length;
        }
      }
      this.scan(texts.join(''), 0, found);
    }
    if (found.length === 0) return [];
    // Merge overlaps: earliest start first, the longest of those first; the first names the marker.
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const merged: { start: number; end: number; name: string }[] = [];
    for (const match of found) {
      const last = merged[merged.length - 1];
      if (last !== undefined && match.start < last.end) {
        if (match.end > last.end) last.end = match.end;
      } else {
        merged.push({ start: match.start, end: match.end, name: match.name });
      }
    }
    return merged;
  }

  /** The redacted texts of a group (undefined where an item is unchanged), or undefined if none changed. */
  redactGroup(texts: readonly string[]): (string | undefined)[] | undefined {
    const merged = this.ranges(texts, false);
    if (merged.length === 0) return undefined;
    this.changes += merged.length;

    const out: (string | undefined)[] = [];
    let offset = 0;
    let next = 0;
    for (const text of texts) {
      const itemStart = offset;
      const itemEnd = offset + text.length;
      offset = itemEnd;
      while (next < merged.length && merged[next]!.end <= itemStart) next++;
      let rewritten = '';
      let cursor = itemStart;
      let touched = false;
      for (let r = next; r < merged.length && merged[r]!.start < itemEnd; r++) {
        const range = merged[r]!;
        const from = Math.max(range.start, itemStart);
        const to = Math.min(range.end, itemEnd);
        if (to <= from) continue;
        rewritten += text.slice(cursor - itemStart, from - itemStart) + this.marker(range.name);
        cursor = to;
        touched = true;
      }
      out.push(touched ? rewritten + text.slice(cursor - itemStart) : undefined);
    }
    return out;
  }

  /**
   * Texts scanned one by one, and groups of them (lists of indices into `texts`, in order) also
   * joined. Where secrets found in different ways overlap in a text they are merged; a secret
   * found several ways, or cut into several texts, counts once.
   */
  redactGroups(texts: readonly string[], groups: readonly (readonly number[])[]): (string | undefined)[] | undefined {
    // Each merged range, cut into the texts it covers: a piece per text, in that text's
    // coordinates; `from` and `to` are where the whole range starts and ends relative to the
    // text (`from` < 0: it began in an earlier one), so that the range that starts first names
    // the marker, as in redactGroup.
    const pieces: ({ start: number; end: number; from: number; to: number; name: string; secret: number }[] | undefined)[] = [];
    const parent: number[] = [];
    const piece = (index: number, start: number, end: number, from: number, to: number, name: string, secret: number): void => {
      (pieces[index] ??= []).push({ start, end, from, to, name, secret });
    };
    for (let index = 0; index < texts.length; index++) {
      const text = texts[index]!;
      if (text.length === 0) continue;
      for (const range of this.ranges([text], false)) piece(index, range.start, range.end, range.start, range.end, range.name, parent.push(parent.length) - 1);
    }
    for (const members of groups) {
      if (members.length < 2) continue;
      const group = members.map((index) => texts[index]!);
      const ranges = this.ranges(group, true);
      if (ranges.length === 0) continue;
      const offsets: number[] = [];
      let offset = 0;
      for (const text of group) {
        offsets.push(offset);
        offset += text.length;
      }
      for (const range of ranges) {
        const secret = parent.push(parent.length) - 1;
        members.forEach((index, k) => {
          const at = offsets[k]!;
          const start = Math.max(range.start, at) - at;
          const end = Math.min(range.end, at + group[k]!.length) - at;
          if (end > start) piece(index, start, end, range.start - at, range.end - at, range.name, secret);
        });
      }
    }
    if (parent.length === 0) return undefined;
    const root = (secret: number): number => {
      while (parent[secret] !== secret) secret = parent[secret] = parent[parent[secret]!]!;
      return secret;
    };

    const out = texts.map((text, index) => {
      const list = pieces[index];
      if (list === undefined) return undefined;
      list.sort((a, b) => a.from - b.from || b.to - a.to); // stable: a text's own matches first at a tie
      let rewritten = '';
      let cursor = 0;
      for (let p = 0; p < list.length;) {
        const first = list[p]!;
        let end = first.end;
        for (p++; p < list.length && list[p]!.start < end; p++) {
          end = Math.max(end, list[p]!.end);
          parent[root(list[p]!.secret)] = root(first.secret);
        }
        rewritten += text.slice(cursor, first.start) + this.marker(first.name);
        cursor = end;
      }
      return rewritten + text.slice(cursor);
    });
    let secrets = 0;
    parent.forEach((_, secret) => {
      if (root(secret) === secret) secrets++;
    });
    this.changes += secrets;
    return out;
  }

  /**
   * A JSON value with its strings redacted (the same value if nothing changed). Each string is
   * scanned alone; and in each array, the strings at the same place in its items (the items
   * themselves when they are strings; `items[*].part`, `items[*].meta.text` when they are
   * objects) are also scanned joined, as `content[*].text` is: a secret cut across the items of
   * a list is found, though other strings come between its parts. Strings of different members
   * of one object are not joined: a secret at the end of one would take the next one's value
   * with it.
   */
  redactValue(value: unknown): unknown {
    const texts: string[] = [];
    // Per array, a tree of the paths in its items (by key, from the item), each with the strings
    // found there; not into nested arrays: those have their own.
    const groups: number[][] = [];
    // Depth first, in document order, with a stack of its own (a value is as deep as its sender
    // made it): each entry a value and the column it belongs to, found when it is visited.
    const pending: unknown[] = [value];
    const columns: (Column | undefined)[] = [undefined];
    while (pending.length > 0) {
      const item = pending.pop();
      const column = columns.pop();
      if (typeof item === 'string') {
        if (column !== undefined) {
          if (column.members === undefined) groups.push(column.members = []);
          column.members.push(texts.length);
        }
        texts.push(item);
      } else if (Array.isArray(item)) {
        const own: Column = {};
        for (let i = item.length - 1; i >= 0; i--) {
          pending.push(item[i]);
          columns.push(own);
        }
      } else if (isRecord(item)) {
        const keys = Object.keys(item);
        // The members' columns made in key order, as a walk that calls itself would make them.
        const next: (Column | undefined)[] = keys.map((key) => {
          if (column === undefined) return undefined;
          const byKey = column.keys ??= new Map();
          let found = byKey.get(key);
          if (found === undefined) byKey.set(key, found = {});
          return found;
        });
        for (let i = keys.length - 1; i >= 0; i--) {
          pending.push(item[keys[i]!]);
          columns.push(next[i]);
        }
      }
    }
    if (texts.length === 0) return value;
    const redacted = this.redactGroups(texts, groups);
    if (redacted === undefined) return value;
    return rebuildStrings(value, redacted);
  }

  /**
   * Redacts the text fields of an array's items as one group. `read` returns an item's text
   * (or undefined: the item takes no part); `write` returns a copy of the item with new text.
   */
  redactItems(items: unknown, read: (item: unknown) => string | undefined, write: (item: unknown, text: string) => unknown): unknown {
    if (!Array.isArray(items)) return items;
    const indices: number[] = [];
    const texts: string[] = [];
    items.forEach((item, index) => {
      const text = read(item);
      if (text !== undefined) {
        indices.push(index);
        texts.push(text);
      }
    });
    if (texts.length === 0) return items;
    const redacted = this.redactGroup(texts);
    if (redacted === undefined) return items;
    const copy = items.slice();
    redacted.forEach((text, k) => {
      if (text !== undefined) copy[indices[k]!] = write(items[indices[k]!], text);
    });
    return copy;
  }
}

/** A container `mapLeaves` is in: its members' keys (undefined for an array), the next member, and its copy once one changed. */
interface OpenLevel {
  readonly item: unknown[] | Record<string, unknown>;
  readonly keys: string[] | undefined;
  next: number;
  copy: unknown[] | Record<string, unknown> | undefined;
}

/**
 * The value with each leaf (anything but an array or a record) replaced by `leaf(value, key)`
 * (`key`: its member name, undefined in an array or at the root), visited in document order;
 * a container is copied only when something in it changed, else the same one is returned.
 * Iterative, with a stack of its own: a frame's value may nest as deep as its sender likes,
 * and a call per level would end in a RangeError on the frame's path.
 */
function mapLeaves(value: unknown, leaf: (value: unknown, key: string | undefined) => unknown): unknown {
  if (!Array.isArray(value) && !isRecord(value)) return leaf(value, undefined);
  const open = (item: unknown[] | Record<string, unknown>): OpenLevel => ({ item, keys: Array.isArray(item) ? undefined : Object.keys(item), next: 0, copy: undefined });
  const stack: OpenLevel[] = [open(value)];
  for (;;) {
    const level = stack[stack.length - 1]!;
    const { item, keys } = level;
    const count = keys === undefined ? (item as unknown[]).length : keys.length;
    let key: string | number;
    let changed: unknown;
    if (level.next < count) {
      const index = level.next++;
      key = keys === undefined ? index : keys[index]!;
      const entry = (item as Record<string | number, unknown>)[key];
      if (Array.isArray(entry) || isRecord(entry)) {
        stack.push(open(entry));
        continue;
      }
      changed = leaf(entry, keys === undefined ? undefined : (key as string));
    } else {
      // This container is done: what it became takes its place in its parent.
      stack.pop();
      changed = level.copy ?? item;
      if (stack.length === 0) return changed;
      const parent = stack[stack.length - 1]!;
      key = parent.keys === undefined ? parent.next - 1 : parent.keys[parent.next - 1]!;
    }
    const parent = stack[stack.length - 1]!;
    const original = (parent.item as Record<string | number, unknown>)[key];
    if (changed === original) continue;
    parent.copy ??= Array.isArray(parent.item) ? parent.item.slice() : { ...parent.item };
    (parent.copy as Record<string | number, unknown>)[key] = changed;
  }
}

/** `value` with its strings, in document order, replaced by `redacted`'s (undefined: unchanged). */
function rebuildStrings(value: unknown, redacted: readonly (string | undefined)[]): unknown {
  let next = 0;
  return mapLeaves(value, (item) => (typeof item === 'string' ? redacted[next++] ?? item : item));
}

/** `{type:'text', text}` or `{type:'resource', resource:{text}}`: the text a content block carries. */
function readContentText(item: unknown): string | undefined {
  if (!isRecord(item)) return undefined;
  if (typeof item['text'] === 'string') return item['text'];
  const resource = item['resource'];
  if (isRecord(resource) && typeof resource['text'] === 'string') return resource['text'];
  return undefined;
}

function writeContentText(item: unknown, text: string): unknown {
  const record = item as Record<string, unknown>;
  if (typeof record['text'] === 'string') return { ...record, text };
  return { ...record, resource: { ...(record['resource'] as Record<string, unknown>), text } };
}

function readMessageText(item: unknown): string | undefined {
  return isRecord(item) ? readContentText(item['content']) : undefined;
}

function writeMessageText(item: unknown, text: string): unknown {
  const record = item as Record<string, unknown>;
  return { ...record, content: writeContentText(record['content'], text) };
}

function readPlainText(item: unknown): string | undefined {
  return isRecord(item) && typeof item['text'] === 'string' ? item['text'] : undefined;
}

function writePlainText(item: unknown, text: string): unknown {
  return { ...(item as Record<string, unknown>), text };
}

/** The result with its scannable fields redacted (the same object if nothing changed). */
function redactResult(redactor: Redactor, method: string, result: Record<string, unknown>): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  const update = (key: string, value: unknown): void => {
    if (value !== result[key]) changed[key] = value;
  };
  if (method === 'tools/call') {
    update('content', redactor.redactItems(result['content'], readContentText, writeContentText));
    if ('structuredContent' in result) update('structuredContent', redactor.redactValue(result['structuredContent']));
  } else if (method === 'resources/read') {
    update('contents', redactor.redactItems(result['contents'], readPlainText, writePlainText));
  } else if (method === 'prompts/get') {
    // A message's content is one block; a later protocol era may make it a list of blocks.
    const messages = result['messages'];
    if (Array.isArray(messages) && messages.some((message) => isRecord(message) && Array.isArray(message['content']))) {
      update('messages', redactor.redactValue(messages));
    } else {
      update('messages', redactor.redactItems(messages, readMessageText, writeMessageText));
    }
  }
  return Object.keys(changed).length === 0 ? result : { ...result, ...changed };
}

/**
 * A notification's params with their text redacted (the same object if nothing changed):
 * `notifications/message` every string of its `data`, `notifications/progress` its `message`
 * (not its token: the client matches the progress to its request by it).
 */
function redactNotification(redactor: Redactor, method: string, params: Record<string, unknown>): Record<string, unknown> {
  if (method === 'notifications/message') {
    const data = redactor.redactValue(params['data']);
    return data === params['data'] ? params : { ...params, data };
  }
  const message = params['message'];
  if (typeof message !== 'string') return params;
  const redacted = redactor.redactGroup([message])?.[0];
  return redacted === undefined ? params : { ...params, message: redacted };
}

/**
 * The detectors of a spec the schema accepted (rule-schemas.ts: known names, at least one,
 * pattern names unique and marker-safe, patterns RE2 that match no empty string): compiled
 * only, in order, each once.
 */
function compileDetectors(section: RedactRule['redact']): Detector[] {
  const names = section.detectors === 'all' ? DETECTOR_NAMES : section.detectors;
  const detectors = [...new Set(names)].map((name) => BUILT_IN_DETECTORS[name]);
  for (const { name, pattern } of section.patterns ?? []) detectors.push(createPatternDetector(name, pattern));
  return detectors;
}

export function createRedactRules(spec: RedactRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const detectors = compileDetectors(spec.redact);
  const methodsSpec: readonly string[] = spec.redact.in ?? SCANNABLE;
  const methods = [...new Set(methodsSpec)];
  const responseMethods = methods.filter((method) => (RESULT_METHODS as readonly string[]).includes(method));
  const notificationMethods = methods.filter((method) => (NOTIFICATION_METHODS as readonly string[]).includes(method));
  // With built-in detectors only, a frame whose bytes hold nothing any of them could match is
  // let through unparsed (redaction-prefilter.ts); a custom pattern can match anything.
  const anchors = RedactionPrefilter.anchorsOf(detectors.map((detector) => detector.name));
  const prefilter = anchors === undefined ? undefined : new RedactionPrefilter(anchors);

  const rules: Rule[] = [];
  if (responseMethods.length > 0) {
    rules.push({
      id,
      kind: 'redact',
      mode,
      direction: 'server-to-client',
      phase: 'response',
      methods: responseMethods,
      evaluate(frame: FrameContext): Verdict {
        if (!responseMethods.includes(frame.method)) return CONTINUE;
        if (prefilter !== undefined && frame.rewritten !== true && prefilter.clean(frame.line)) return CONTINUE;
        const body = frame.body();
        if (!isRecord(body)) return CONTINUE;
        const redactor = new Redactor(detectors);
        const changed: Record<string, unknown> = {};
        const result = body['result'];
        if (isRecord(result)) {
          const redacted = redactResult(redactor, frame.method, result);
          if (redacted !== result) changed['result'] = redacted;
        }
        const error = body['error'];
        if (isRecord(error)) {
          const redacted = redactor.redactValue({ message: error['message'], data: error['data'] }) as Record<string, unknown>;
          const copy: Record<string, unknown> = { ...error };
          let touched = false;
          for (const key of ['message', 'data'] as const) {
            if (key in error && redacted[key] !== error[key]) {
              copy[key] = redacted[key];
              touched = true;
            }
          }
          if (touched) changed['error'] = copy;
        }
        if (redactor.changes === 0) return CONTINUE;
        return { effect: 'rewrite', reason: 'secret_redacted', body: { ...body, ...changed }, changes: redactor.changes };
      },
    });
  }
  // The server's log and progress messages travel as notifications: the request phase.
  if (notificationMethods.length > 0) {
    rules.push({
      id,
      kind: 'redact',
      mode,
      direction: 'server-to-client',
      phase: 'request',
      methods: notificationMethods,
      evaluate(frame: FrameContext): Verdict {
        if (!notificationMethods.includes(frame.method)) return CONTINUE;
        if (prefilter !== undefined && frame.rewritten !== true && prefilter.clean(frame.line)) return CONTINUE;
        const body = frame.body();
        if (!isRecord(body) || !isRecord(body['params'])) return CONTINUE;
        const params = body['params'];
        const redactor = new Redactor(detectors);
        const redacted = redactNotification(redactor, frame.method, params);
        if (redactor.changes === 0) return CONTINUE;
        return { effect: 'rewrite', reason: 'secret_redacted', body: { ...body, params: redacted }, changes: redactor.changes };
      },
    });
  }
  return rules;
}

/**
 * Every secret the built-in detectors find in a JSON value, and every value under a secret key
 * name (`{"password": "..."}`, `{"api_key": 123}`): for what the proxy writes down itself
 * (transcripts, arguments in reports), whatever the policy says. The same value when nothing
 * was found. `marker` writes what stands in for a secret (default `[REDACTED:<detector>]`).
 */
export function redactSecrets(value: unknown, marker: (detector: string) => string = defaultMarker): { readonly value: unknown; readonly changes: number } {
  const redactor = new Redactor(DETECTOR_NAMES.map((name) => BUILT_IN_DETECTORS[name]), marker);
  let keyed = 0;
  // A string or number under a secret key name is replaced whole; objects under one are looked into.
  const underSecretKeys = (item: unknown): unknown => mapLeaves(item, (entry, key) => {
    if (key === undefined || (typeof entry !== 'string' && typeof entry !== 'number') || !isSecretKey(key)) return entry;
    const replaced = marker('password-assignment');
    if (replaced !== entry) keyed += 1;
    return replaced;
  });
  const redacted = redactor.redactValue(underSecretKeys(value));
  return { value: redacted, changes: keyed + redactor.changes };
}

// What `redactSecrets` needs to find anything, as one case-insensitive search: a built-in
// detector's anchor, or a secret key's name (`pass`, `token`, ...: every key `isSecretKey`
// accepts holds one, and so does every password assignment a detector can find).
let secretHint: RegExp | undefined;
/** The same, at the start of a text only (a piece of the bytes where `hintScan` found a candidate). */
let secretHintHere: RegExp | undefined;
const SECRET_KEY_HINTS = ['pass', 'pwd', 'secret', 'api.?key', 'token', 'private'];
/** The SIMD scan for what `secretHint` looks for (`api` standing for `api.?key`). */
let hintScan: RedactionPrefilter | undefined;
// The same, cut across strings that the redactor joins: the prefilter's scan of a value's
// strings, with the key names (as `isSecretKey` spells them) as anchors of any case.
let joinedHint: RedactionPrefilter | undefined;
const JOINED_KEY_HINTS = ['pass', 'pwd', 'secret', 'api_key', 'apikey', 'api-key', 'token', 'private'];
/** Texts from this long take the SIMD scan. */
const SIMD_MIN_CHARS = 4096;
/** Longer than any match of `secretHint` in UTF-8 (`api` + one character of up to 4 bytes + `key`; `-----BEGIN `). */
const HINT_BYTES = 16;

// The UTF-8 of the texts looked at: written into one buffer kept for the next (a new buffer of a
// MiB costs ~0.6 ms in page faults, the write ~0.06 ms), up to 2 MiB; larger texts get their own.
const SCRATCH_MAX = 2 * 1024 * 1024;
let scratch: Buffer | undefined;

function utf8Of(text: string): Buffer {
  if (text.length < 8192 || text.length + 4 > SCRATCH_MAX) return Buffer.from(text); // small ones come from Node's pool
  if (scratch === undefined || scratch.length < text.length + 4) {
    scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, 2 ** Math.ceil(Math.log2(text.length + 4))));
  }
  const written = scratch.write(text);
  // A character that did not fit leaves at most 3 bytes free: with 4 or more free, all of it is there.
  return written <= scratch.length - 4 ? scratch.subarray(0, written) : Buffer.from(text);
}

/**
 * False only when `redactSecrets(value)` would find nothing, judged from `canonical`, the
 * value's canonical JSON (or its JSON.stringify): no anchor and no secret key name occurs in
 * it, nor across strings the redactor joins (any two: redaction-prefilter.ts, whose answer does
 * not depend on the order of an object's members). The anchors and key names are ASCII that
 * JSON never escapes, so they occur in the JSON text wherever they occur in the value's strings
 * and keys. A cheap look that spares most values the walk; a "maybe" walks. With the SIMD scan,
 * two passes over the UTF-8 of the text, each near memory speed: the hints anywhere (each
 * candidate confirmed by `secretHint` on the few bytes from it: its matches start with ASCII, so
 * at a byte of the text), then the joins.
 */
export function mayHoldSecretsInJson(canonical: string): boolean {
  if (secretHint === undefined || joinedHint === undefined) {
    const anchors = RedactionPrefilter.anchorsOf(DETECTOR_NAMES)!;
    secretHint = new RegExp(hintAlternatives(), 'i');
    joinedHint = new RedactionPrefilter({ exact: anchors.exact, anyCase: [...anchors.anyCase, ...JOINED_KEY_HINTS], separators: false });
  }
  // Small texts (most arguments) the regular expression and the prefilter's byte loops judge as
  // fast, without the SIMD scan (compiled, and its tables made, on the first large text).
  if (canonical.length < SIMD_MIN_CHARS || !RedactionPrefilter.simd) return secretHint.test(canonical) || !joinedHint.clean(Buffer.from(canonical));
  if (secretHintHere === undefined || hintScan === undefined) {
    const anchors = RedactionPrefilter.anchorsOf(DETECTOR_NAMES)!;
    secretHintHere = new RegExp(`^(?:${hintAlternatives()})`, 'i');
    hintScan = new RedactionPrefilter({ exact: anchors.exact, anyCase: [...anchors.anyCase, ...SECRET_KEY_HINTS.map((hint) => hint.replace('.?key', ''))], separators: false });
  }
  const here = secretHintHere;
  const bytes = utf8Of(canonical);
  if (hintScan.someAnchor(bytes, (at) => here.test(bytes.toString('utf8', at, Math.min(bytes.length, at + HINT_BYTES))))) return true;
  return !joinedHint.clean(bytes);
}

/** `secretHint`'s alternatives: the anchors (escaped) and the key names. */
function hintAlternatives(): string {
  const anchors = RedactionPrefilter.anchorsOf(DETECTOR_NAMES)!;
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return [...anchors.exact, ...anchors.anyCase].map(escape).concat(SECRET_KEY_HINTS).join('|');
}

// Whatever loaded this module (a policy, reports, a transcript), the proxy's logs redact what
// they quote of the peers with it from now on, instead of cutting it (components/logging/redact.ts).
useLogRedactor(redactSecrets);
