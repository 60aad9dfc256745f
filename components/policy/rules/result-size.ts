// `limits.maxResultBytes`: a cap on the size of a result the client receives (a response to a
// client request that carries `result`), with `limits.onOversize: deny | truncate`.
//
// What is counted (what the model reads and the client holds), in bytes:
// - a tools/call result: every `content[]` item (a text item: the UTF-8 of `text`; an item with
//   base64 `data`, image or audio: the length of `data`, as it crosses the wire and sits in the
//   client's memory; an embedded resource: the UTF-8 of `resource.text` or the length of
//   `resource.blob`; any other item, a resource_link: the UTF-8 of its JSON), plus the UTF-8 of
//   `structuredContent` serialized as JSON;
// - any other result: the UTF-8 of the result serialized as JSON (results of other methods have
//   no common shape; what the client holds is the whole of it).
// Envelope, `_meta` and item metadata are not counted: `limits.maxResponseFrameBytes` bounds the frame.
//
// Every counted byte is also a byte of the frame (JSON escaping only lengthens text), so a frame
// no longer than the cap holds a result within it: such a frame is not parsed, and a policy
// without a cap has no rule here at all.
//
// `limits.perTool` caps tools/call results per tool: the first entry whose globs match the tool
// the answered request named (FrameContext.tool, which the pump reads only because this rule
// then says needsTool) replaces the section's cap for that tool; 0 is no cap. A tool whose name
// could not be read gets the strictest cap of the section (fail closed).
import type { LimitsSection, PolicyMode } from '../document/document.js';
import { compileGlobs, type GlobMatcher } from '../engine/glob.js';
import type { FrameContext, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { deny, isRecord, quoteForMessage } from './common.js';

const RULE_ID = 'limits.maxResultBytes';

/** The measure of a tools/call result: each content item's bytes, and structuredContent's. */
interface ToolResultSize {
  readonly items: readonly number[];
  readonly structured: number;
  readonly total: number;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The counted bytes of one content item, or undefined when the item is not an object. */
function contentItemBytes(item: unknown): number | undefined {
  if (!isRecord(item)) return undefined;
  if (typeof item['text'] === 'string') return utf8Bytes(item['text']);
  if (typeof item['data'] === 'string') return item['data'].length;
  const resource = item['resource'];
  if (isRecord(resource)) {
    if (typeof resource['text'] === 'string') return utf8Bytes(resource['text']);
    if (typeof resource['blob'] === 'string') return resource['blob'].length;
  }
  return utf8Bytes(JSON.stringify(item));
}

/** A tools/call result measured, or undefined when its shape cannot be (content not a list of objects). */
export function measureToolResult(result: Record<string, unknown>): ToolResultSize | undefined {
  const content = result['content'];
  const items: number[] = [];
  if (content !== undefined) {
    if (!Array.isArray(content)) return undefined;
    for (const item of content) {
      const bytes = contentItemBytes(item);
      if (bytes === undefined) return undefined;
      items.push(bytes);
    }
  }
  const structuredContent = result['structuredContent'];
  const structured = structuredContent === undefined ? 0 : utf8Bytes(JSON.stringify(structuredContent));
  let total = structured;
  for (const bytes of items) total += bytes;
  return { items, structured, total };
}

/** The counted bytes of a result: see the header. Undefined when the result is not an object. */
export function measureResult(method: string, result: unknown): number | undefined {
  if (!isRecord(result)) return undefined;
  if (method === 'tools/call') return measureToolResult(result)?.total;
  return utf8Bytes(JSON.stringify(result));
}

/** The longest prefix of `text` whose UTF-8 is at most `budget` bytes, cut between characters. */
export function cutToBytes(text: string, budget: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= budget) return text;
  let end = Math.max(0, budget);
  // Back off to the first byte of a character: continuation bytes are 10xxxxxx.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/**
 * A tools/call result cut to the cap: the first content items that fit whole, the first that
 * does not fit cut to what is left when it is text (other items are dropped whole), the rest
 * dropped, and a text item saying what was cut. structuredContent is kept (the result still
 * matches the tool's outputSchema) and its bytes come off the budget first. Returns the new
 * result and how many items were cut or dropped.
 */
export function truncateToolResult(result: Record<string, unknown>, size: ToolResultSize, cap: number, capName = RULE_ID): { result: Record<string, unknown>; changes: number } {
  const content = (result['content'] ?? []) as readonly Record<string, unknown>[];
  let budget = cap - size.structured;
  const kept: unknown[] = [];
  let keptBytes = 0;
  let index = 0;
  for (; index < content.length; index++) {
    const bytes = size.items[index]!;
    if (bytes > budget) break;
    kept.push(content[index]);
    budget -= bytes;
    keptBytes += bytes;
  }
  // At least one: over the cap, not every item fits (structuredContent alone over it is denied before).
  const changes = content.length - index;
  const first = content[index];
  if (first !== undefined && typeof first['text'] === 'string' && budget > 0) {
    const cut = cutToBytes(first['text'], budget);
    if (cut.length > 0) {
      kept.push({ ...first, text: cut });
      keptBytes += utf8Bytes(cut);
    }
  }
  const cutBytes = size.total - size.structured - keptBytes;
  kept.push({
    type: 'text',
    text: `[mcp-sidecar: the result was ${size.total} bytes, over the cap of ${cap} (${capName}); ${changes} of ${content.length} content items were cut or dropped, ${cutBytes} bytes]`,
  });
  return { result: { ...result, content: kept }, changes };
}

/** One cap in force: its bytes (0: none), what to do over it, and how messages name it. */
interface ResultCap {
  readonly bytes: number;
  readonly truncate: boolean;
  /** `limits.maxResultBytes` or `limits.perTool[1]`: where the cap comes from. */
  readonly name: string;
}

const NO_CAP: ResultCap = Object.freeze({ bytes: 0, truncate: false, name: RULE_ID });

/**
 * The cap of a tools/call response by its tool: the first perTool entry that matches, else the
 * section's cap (NO_CAP when there is none). A tool whose name could not be read gets the
 * strictest cap of all: it may be any tool, the one with the smallest cap included. Every cap is
 * built here, once: looking one up allocates nothing.
 */
function perToolCaps(limits: LimitsSection, sectionCap: ResultCap | undefined): ((tool: string | undefined) => ResultCap) | undefined {
  const entries = limits.perTool ?? [];
  if (entries.length === 0) return undefined;
  const caps = entries.map((entry, index) => ({
    match: compileGlobs(entry.tools),
    cap: entry.maxResultBytes === 0 ? NO_CAP : { bytes: entry.maxResultBytes, truncate: (entry.onOversize ?? limits.onOversize) === 'truncate', name: `limits.perTool[${index}]` },
  }));
  const fallback = sectionCap ?? NO_CAP;
  let strictest = fallback;
  for (const { cap } of caps) if (cap.bytes !== 0 && (strictest.bytes === 0 || cap.bytes < strictest.bytes)) strictest = cap;
  const unknownTool: ResultCap = { ...strictest, name: `${strictest.name}, the strictest cap, as the tool's name could not be read` };
  return (tool) => {
    if (tool === undefined) return unknownTool;
    for (let i = 0; i < caps.length; i++) if (caps[i]!.match(tool)) return caps[i]!.cap;
    return fallback;
  };
}

/**
 * The `limits.maxResultBytes` rule, which also carries `limits.perTool`: server to client,
 * response phase, every method with a section cap (tools/call only with per-tool caps alone).
 * Over the cap in force, a deny (a tools/call gets a tool result with isError; other methods
 * -32010) or, with `onOversize: truncate`, a tools/call result cut to the cap. A result it cannot
 * measure over a frame longer than the cap (not an object; content not a list of objects) is
 * denied.
 */
export function createResultSizeRule(limits: LimitsSection, mode: PolicyMode): Rule | undefined {
  const sectionCap: ResultCap | undefined = limits.maxResultBytes === undefined
    ? undefined
    : { bytes: limits.maxResultBytes, truncate: limits.onOversize === 'truncate', name: RULE_ID };
  const capForTool = perToolCaps(limits, sectionCap);
  if (sectionCap === undefined && capForTool === undefined) return undefined;
  // No result is over every cap while its frame is no longer than the smallest: not parsed, no tool looked up.
  const smallestCap = Math.min(sectionCap?.bytes ?? Infinity, ...(limits.perTool ?? []).map((entry) => entry.maxResultBytes || Infinity));

  // A per-tool cap names the tool too (the server answered a name the client chose: quoted).
  const capText = (cap: ResultCap, tool: string | undefined): string =>
    cap.name.startsWith('limits.perTool[') && tool !== undefined ? `${cap.name} for tool ${quoteForMessage(tool)}` : cap.name;
  const overCap = (bytes: number, cap: ResultCap, tool: string | undefined): Verdict =>
    deny('result_too_large', `the result was ${bytes} bytes, over the cap of ${cap.bytes} (${capText(cap, tool)})`, 'forbidden', { reply: 'tool-error' });
  const unmeasurable = (cap: ResultCap, tool: string | undefined): Verdict =>
    deny('result_unmeasurable', `the result is over ${cap.bytes} bytes on the wire and cannot be measured (${capText(cap, tool)}): it is not an object, or its content is not a list of objects`, 'forbidden', { reply: 'tool-error' });

  const evaluate = (frame: FrameContext): Verdict => {
    if (!frame.rewritten && frame.line.length <= smallestCap) return CONTINUE;
    const toolCall = frame.method === 'tools/call';
    const cap = toolCall && capForTool !== undefined ? capForTool(frame.tool) : sectionCap;
    if (cap === undefined || cap.bytes === 0) return CONTINUE;
    // A result is shorter than its frame: under the cap, nothing to measure.
    if (!frame.rewritten && frame.line.length <= cap.bytes) return CONTINUE;
    const body = frame.body();
    if (!isRecord(body) || !('result' in body)) return CONTINUE; // an error response carries no result
    const result = body['result'];
    if (!isRecord(result)) return unmeasurable(cap, frame.tool);
    if (!toolCall) {
      const bytes = utf8Bytes(JSON.stringify(result));
      return bytes <= cap.bytes ? CONTINUE : overCap(bytes, cap, undefined);
    }
    const size = measureToolResult(result);
    if (size === undefined) return unmeasurable(cap, frame.tool);
    if (size.total <= cap.bytes) return CONTINUE;
    // structuredContent cannot be cut and still match the tool's outputSchema: over the cap alone, an error.
    if (!cap.truncate || size.structured > cap.bytes) return overCap(size.total, cap, frame.tool);
    const truncated = truncateToolResult(result, size, cap.bytes, cap.name);
    return { effect: 'rewrite', reason: 'result_truncated', body: { ...body, result: truncated.result }, changes: truncated.changes };
  };
  const methods = sectionCap === undefined ? ['tools/call'] : ['*'];
  const rule: Rule = { id: RULE_ID, kind: 'limits', mode, direction: 'server-to-client', phase: 'response', methods, evaluate };
  // Only with per-tool caps does the pump read each tools/call's tool name.
  return capForTool === undefined ? rule : { ...rule, needsTool: true };
}
