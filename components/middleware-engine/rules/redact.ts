// `redact: { detectors, patterns?, in? }` — secrets in results travelling to the client are
// replaced by `[REDACTED:<detector>]` before the model reads them.
//
// What is scanned: tools/call `content[].text`, `content[].resource.text` and every string in
// `structuredContent`; resources/read `contents[].text`; prompts/get `messages[].content.text`
// (and `.resource.text`); for an error response, `error.message` and every string in
// `error.data`. Blobs (base64) are not scanned.
//
// Split secrets: a server may cut its output into several text items, and a key cut in two is
// still a key. The texts of one array (one `content`, one `contents`, one `messages`, adjacent
// strings of one array inside structuredContent) form a group. A group is scanned twice: joined
// without a separator (a secret across an item boundary is found as one match) and item by item
// (a secret whose end a detector recognizes by the character after it is not missed because
// the next item starts with a letter). The matches are merged where they overlap and mapped
// back to the items: each item a match touches has its part replaced by the marker, so the
// first half of a split key becomes `…[REDACTED:x]` and the second `[REDACTED:x]…`. Joining
// can over-redact (a password value that runs into the next item takes that item's first word
// with it); it cannot under-redact a secret any single item or the join contains.
//
// The verdict never carries a secret: its reason is `secret_redacted`, its body the redacted
// copy (sharing every object that did not change), its `changes` the number of secrets.
//
// Before parsing, the built-in detectors' anchors are looked for in the frame's bytes: a result
// in which none can occur (most results) continues without being parsed (redaction-prefilter.ts).
import type { DetectorName, RedactRule } from '../../policy/document.js';
import type { FrameContext, Rule, Verdict } from '../types.js';
import { CONTINUE } from '../types.js';
import {
  checkKnownKeys, checkMode, checkRuleId, checkSection, isRecord, RuleSpecError, type RuleContext,
} from './common.js';
import { BUILT_IN_DETECTORS, createPatternDetector, DETECTOR_NAMES, isSecretKey, type Detector, type SecretMatch } from './redaction-detectors.js';
import { RedactionPrefilter } from './redaction-prefilter.js';

const SCANNABLE = ['tools/call', 'resources/read', 'prompts/get'] as const;

const defaultMarker = (detector: string): string => `[REDACTED:${detector}]`;

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

  /** The redacted texts of a group (undefined where an item is unchanged), or undefined if none changed. */
  redactGroup(texts: readonly string[]): (string | undefined)[] | undefined {
    const found: SecretMatch[] = [];
    if (texts.length === 1) {
      this.scan(texts[0]!, 0, found);
    } else {
      const offsets: number[] = [];
      let offset = 0;
      for (const text of texts) {
        offsets.push(offset);
        if (text.length > 0) this.scan(text, offset, found);
        offset += text.length;
      }
      this.scan(texts.join(''), 0, found);
    }
    if (found.length === 0) return undefined;

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

  /** A JSON value with its strings redacted (adjacent strings of an array as one group); the same value if nothing changed. */
  redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redactGroup([value])?.[0] ?? value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      const set = (index: number, item: unknown): void => {
        if (item === value[index]) return;
        copy ??= value.slice();
        copy[index] = item;
      };
      for (let i = 0; i < value.length;) {
        if (typeof value[i] === 'string') {
          let end = i;
          while (end < value.length && typeof value[end] === 'string') end++;
          const redacted = this.redactGroup(value.slice(i, end) as string[]);
          if (redacted !== undefined) redacted.forEach((text, k) => text !== undefined && set(i + k, text));
          i = end;
        } else {
          set(i, this.redactValue(value[i]));
          i++;
        }
      }
      return copy ?? value;
    }
    if (isRecord(value)) {
      let copy: Record<string, unknown> | undefined;
      for (const key of Object.keys(value)) {
        const item = this.redactValue(value[key]);
        if (item !== value[key]) {
          copy ??= { ...value };
          copy[key] = item;
        }
      }
      return copy ?? value;
    }
    return value;
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

function compileDetectors(ruleId: string, section: Record<string, unknown>): Detector[] {
  const detectors: Detector[] = [];
  const names = section['detectors'] ?? 'all';
  if (names === 'all') {
    detectors.push(...DETECTOR_NAMES.map((name) => BUILT_IN_DETECTORS[name]));
  } else if (Array.isArray(names)) {
    for (const name of names) {
      if (typeof name !== 'string' || !(DETECTOR_NAMES as readonly string[]).includes(name)) {
        throw new RuleSpecError(ruleId, `redact.detectors: unknown detector ${JSON.stringify(name)} (known: all, ${DETECTOR_NAMES.join(', ')})`);
      }
      const detector = BUILT_IN_DETECTORS[name as DetectorName];
      if (!detectors.includes(detector)) detectors.push(detector);
    }
  } else {
    throw new RuleSpecError(ruleId, 'redact.detectors must be all or a list of detector names');
  }

  const patterns = section['patterns'] ?? [];
  if (!Array.isArray(patterns)) throw new RuleSpecError(ruleId, 'redact.patterns must be a list of { name, pattern }');
  const seen = new Set<string>(DETECTOR_NAMES);
  patterns.forEach((entry, index) => {
    const where = `redact.patterns[${index}]`;
    if (!isRecord(entry)) throw new RuleSpecError(ruleId, `${where} must be { name, pattern }`);
    checkKnownKeys(ruleId, where, entry, ['name', 'pattern']);
    const { name, pattern } = entry;
    // The name is shown in the marker `[REDACTED:<name>]`: no brackets or control characters in it.
    if (typeof name !== 'string' || name.length === 0 || name.length > 64 || /[[\]\u0000-\u001f\u007f]/.test(name)) {
      throw new RuleSpecError(ruleId, `${where}.name must be 1 to 64 characters without brackets or control characters (it is shown in the marker)`);
    }
    if (seen.has(name)) throw new RuleSpecError(ruleId, `${where}.name ${JSON.stringify(name)} is already a detector name`);
    seen.add(name);
    if (typeof pattern !== 'string' || pattern.length === 0) throw new RuleSpecError(ruleId, `${where}.pattern must be a non-empty string`);
    try {
      detectors.push(createPatternDetector(name, pattern));
    } catch (error) {
      throw new RuleSpecError(ruleId, `${where}.pattern is not usable RE2: ${(error as Error).message}`);
    }
  });
  if (detectors.length === 0) throw new RuleSpecError(ruleId, 'redact needs at least one detector or pattern');
  return detectors;
}

export function createRedactRules(spec: RedactRule, context: RuleContext): Rule[] {
  const id = checkRuleId(spec.id);
  const mode = checkMode(id, context);
  const section = checkSection(id, 'redact', spec.redact);
  checkKnownKeys(id, 'redact', section, ['detectors', 'patterns', 'in']);
  const detectors = compileDetectors(id, section);

  const methodsSpec = section['in'] ?? SCANNABLE;
  if (!Array.isArray(methodsSpec) || methodsSpec.length === 0) throw new RuleSpecError(id, `redact.in must be a non-empty list of ${SCANNABLE.join(', ')}`);
  for (const method of methodsSpec) {
    if (!(SCANNABLE as readonly unknown[]).includes(method)) {
      throw new RuleSpecError(id, `redact.in: ${JSON.stringify(method)} is not one of ${SCANNABLE.join(', ')}`);
    }
  }
  const methods = [...new Set(methodsSpec as string[])];
  // With built-in detectors only, a result whose bytes hold nothing any of them could match is
  // let through unparsed (redaction-prefilter.ts); a custom pattern can match anything.
  const anchors = RedactionPrefilter.anchorsOf(detectors.map((detector) => detector.name));
  const prefilter = anchors === undefined ? undefined : new RedactionPrefilter(anchors);

  return [{
    id,
    kind: 'redact',
    mode,
    direction: 'server-to-client',
    phase: 'response',
    methods,
    evaluate(frame: FrameContext): Verdict {
      if (!methods.includes(frame.method)) return CONTINUE;
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
  }];
}

/**
 * Every secret the built-in detectors find in a JSON value, and every value under a secret key
 * name (`{"password": "…"}`, `{"api_key": 123}`): for what the proxy writes down itself
 * (transcripts, arguments in reports), whatever the policy says. The same value when nothing
 * was found. `marker` writes what stands in for a secret (default `[REDACTED:<detector>]`).
 */
export function redactSecrets(value: unknown, marker: (detector: string) => string = defaultMarker): { readonly value: unknown; readonly changes: number } {
  const redactor = new Redactor(DETECTOR_NAMES.map((name) => BUILT_IN_DETECTORS[name]), marker);
  let keyed = 0;
  const underSecretKeys = (item: unknown): unknown => {
    if (Array.isArray(item)) {
      const mapped = item.map(underSecretKeys);
      return mapped.some((entry, i) => entry !== item[i]) ? mapped : item;
    }
    if (!isRecord(item)) return item;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(item)) {
      const entry = item[key];
      const next = (typeof entry === 'string' || typeof entry === 'number') && isSecretKey(key) ? marker('password-assignment') : underSecretKeys(entry);
      if (next === entry) continue;
      if (typeof entry !== 'object') keyed += 1;
      copy ??= { ...item };
      copy[key] = next;
    }
    return copy ?? item;
  };
  const redacted = redactor.redactValue(underSecretKeys(value));
  return { value: redacted, changes: keyed + redactor.changes };
}

// What `redactSecrets` needs to find anything, as one case-insensitive search: a built-in
// detector's anchor, or a secret key's name (`pass`, `token`, …: every key `isSecretKey`
// accepts holds one, and so does every password assignment a detector can find).
let secretHint: RegExp | undefined;
const SECRET_KEY_HINTS = ['pass', 'pwd', 'secret', 'api.?key', 'token', 'private'];

/**
 * False only when `redactSecrets(value)` would find nothing, judged from `canonical`, the
 * value's canonical JSON (or its JSON.stringify): no anchor and no secret key name occurs in
 * it, nor in it with adjacent strings joined (`","` removed), since the redactor scans adjacent
 * strings of an array joined. The anchors and key names are ASCII that JSON never escapes, so
 * they occur in the JSON text wherever they occur in the value's strings and keys. A cheap look
 * that spares most values the walk; a "maybe" walks.
 */
export function mayHoldSecretsInJson(canonical: string): boolean {
  if (secretHint === undefined) {
    const anchors = RedactionPrefilter.anchorsOf(DETECTOR_NAMES)!;
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
    secretHint = new RegExp([...anchors.exact, ...anchors.anyCase].map(escape).concat(SECRET_KEY_HINTS).join('|'), 'i');
  }
  return secretHint.test(canonical) || (canonical.includes('","') && secretHint.test(canonical.replaceAll('","', '')));
}
