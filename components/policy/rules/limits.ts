// The document's `limits` section, as rules that read no body: `maxInFlight` over the
// context's count of client requests in flight (client requests only, first of all the rules),
// then `maxFrameBytes` by method glob and `maxDepth` over the frame's bytes, for requests and
// notifications in both directions (the server's own requests too); then the response side,
// server to client, by the method each response answers: `maxResponseFrameBytes`,
// `maxResponseDepth`, and `maxResultBytes` (result-size.ts, the one limit that parses). The
// section arrives validated by the schema (document/schema.ts): nothing here checks it again.
import type { LimitsSection, PolicyMode } from '../document/document.js';
import type { Direction, FrameContext, Phase, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileGlob, type GlobMatcher } from '../engine/glob.js';
import { deny, quoteForMessage, type RuleContext } from './common.js';
import { createResultSizeRule } from './result-size.js';

const DIRECTIONS: readonly Direction[] = ['client-to-server', 'server-to-client'];

/**
 * The globs of `maxFrameBytes`, most specific first: exact names, then globs by length
 * (longer first; at equal length, fewer wildcards first, then alphabetical), `*` last.
 */
export function orderBySpecificity(globs: readonly string[]): string[] {
  const wildcards = (glob: string): number => glob.split('').filter((c) => c === '*' || c === '?').length;
  const rank = (glob: string): number => (glob === '*' ? 2 : wildcards(glob) === 0 ? 0 : 1);
  return [...globs].sort((a, b) => rank(a) - rank(b) || b.length - a.length || wildcards(a) - wildcards(b) || (a < b ? -1 : a > b ? 1 : 0));
}

// Strings are scanned byte by byte for this long before indexOf (memchr) takes over: most
// strings of a frame are short keys and values, and a native call costs more than a short loop.
const INLINE_STRING_SCAN = 32;

/**
 * The deepest nesting of `[`/`{` in a JSON text, brackets inside strings ignored, stopping as
 * soon as it exceeds `stopAbove`. A byte scan: strings are skipped with `indexOf('"')`. Exact
 * for JSON; in text that is not, a closer with nothing open is ignored, so that it cannot make
 * later nesting count short.
 */
export function jsonDepth(buffer: Buffer, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  const length = buffer.length;
  for (let i = 0; i < length; i++) {
    const byte = buffer[i];
    if (byte === 0x22) {
      // To the closing quote: the first one not escaped by a backslash, looked for byte by
      // byte first (a backslash escapes the byte after it)…
      const inlineEnd = Math.min(length, i + 1 + INLINE_STRING_SCAN);
      let j = i + 1;
      for (; j < inlineEnd; j++) {
        const c = buffer[j];
        if (c === 0x22) break;
        if (c === 0x5c) j++;
      }
      if (j < inlineEnd) {
        i = j;
        continue;
      }
      // …then by memchr: one not preceded by an odd run of backslashes.
      let close = buffer.indexOf(0x22, i + 1);
      for (;;) {
        if (close === -1) return deepest;
        let backslashes = 0;
        while (buffer[close - 1 - backslashes] === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
        close = buffer.indexOf(0x22, close + 1);
      }
      i = close;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if ((byte === 0x7d || byte === 0x5d) && depth > 0) {
      // Never below zero: a stray closer (not JSON; the envelope reader refuses it) must not
      // hide the nesting after it.
      depth--;
    }
  }
  return deepest;
}

function limitRule(id: string, mode: PolicyMode, direction: Direction, methods: readonly string[], evaluate: (frame: FrameContext) => Verdict, phase: Phase = 'request'): Rule {
  return { id, kind: 'limits', mode, direction, phase, methods, evaluate };
}

/** The largest frame per method glob: the most specific glob that matches the method wins (orderBySpecificity). */
function frameSizeLimits(table: Readonly<Record<string, number>>): { methods: string[]; limitFor: (method: string) => { glob: string; bytes: number } | undefined } | undefined {
  const entries = Object.entries(table);
  if (entries.length === 0) return undefined;
  const sizes = new Map(entries);
  const exact = new Map<string, number>();
  const ordered: { glob: string; match: GlobMatcher; bytes: number }[] = [];
  for (const glob of orderBySpecificity(entries.map(([glob]) => glob))) {
    const bytes = sizes.get(glob)!;
    if (!glob.includes('*') && !glob.includes('?')) exact.set(glob, bytes);
    else ordered.push({ glob, match: compileGlob(glob), bytes });
  }
  const limitFor = (method: string): { glob: string; bytes: number } | undefined => {
    const bytes = exact.get(method);
    if (bytes !== undefined) return { glob: method, bytes };
    return ordered.find((entry) => entry.match(method));
  };
  return { methods: entries.map(([glob]) => glob), limitFor };
}

/**
 * Rules for the limits section, in the order they run: `limits.maxInFlight` (client to server),
 * then `limits.maxFrameBytes` and `limits.maxDepth`, one per direction each; then, for the
 * server's responses, `limits.maxResponseFrameBytes`, `limits.maxResponseDepth` and
 * `limits.maxResultBytes` (the cheap ones first: a frame they refuse is never parsed).
 */
export function createLimitsRules(limits: LimitsSection, context: RuleContext): Rule[] {
  const { mode } = context;
  const rules: Rule[] = [];

  if (limits.maxInFlight !== undefined) {
    // One verdict for every refusal: the limit is fixed, so the frame path allocates nothing.
    const refusal = deny('too_many_in_flight', `${limits.maxInFlight} requests are already in flight`, 'transient_error');
    const limit = limits.maxInFlight;
    rules.push(limitRule('limits.maxInFlight', mode, 'client-to-server', ['*'], (frame) => ((frame.inFlight ?? 0) < limit ? CONTINUE : refusal)));
  }

  if (limits.maxFrameBytes !== undefined) {
    const id = 'limits.maxFrameBytes';
    const sizes = frameSizeLimits(limits.maxFrameBytes);
    if (sizes !== undefined) {
      const { limitFor, methods } = sizes;
      const evaluate = (frame: FrameContext): Verdict => {
        const limit = limitFor(frame.method);
        if (limit === undefined || frame.line.length <= limit.bytes) return CONTINUE;
        return deny('frame_too_large', `a ${quoteForMessage(frame.method)} frame of ${frame.line.length} bytes is over the ${limit.bytes}-byte limit for ${quoteForMessage(limit.glob)}`, 'user_error');
      };
      for (const direction of DIRECTIONS) rules.push(limitRule(id, mode, direction, methods, evaluate));
    }
  }

  if (limits.maxDepth !== undefined) {
    const id = 'limits.maxDepth';
    const maxDepth = limits.maxDepth;
    const evaluate = (frame: FrameContext): Verdict => {
      // The envelope reader measured it in its one pass, when the frame came through one.
      const depth = frame.depth ?? jsonDepth(frame.line, maxDepth);
      if (depth <= maxDepth) return CONTINUE;
      return deny('nesting_too_deep', `a ${quoteForMessage(frame.method)} frame nests deeper than ${maxDepth} levels`, 'user_error');
    };
    for (const direction of DIRECTIONS) rules.push(limitRule(id, mode, direction, ['*'], evaluate));
  }

  // The response side: what the server answers, judged by the method of the request it answers.
  if (limits.maxResponseFrameBytes !== undefined) {
    const sizes = frameSizeLimits(limits.maxResponseFrameBytes);
    if (sizes !== undefined) {
      const { limitFor, methods } = sizes;
      const evaluate = (frame: FrameContext): Verdict => {
        const limit = limitFor(frame.method);
        if (limit === undefined || frame.line.length <= limit.bytes) return CONTINUE;
        return deny('response_too_large', `the response to ${quoteForMessage(frame.method)} was a frame of ${frame.line.length} bytes, over the ${limit.bytes}-byte limit for ${quoteForMessage(limit.glob)}`, 'forbidden');
      };
      rules.push(limitRule('limits.maxResponseFrameBytes', mode, 'server-to-client', methods, evaluate, 'response'));
    }
  }

  if (limits.maxResponseDepth !== undefined) {
    const maxDepth = limits.maxResponseDepth;
    const evaluate = (frame: FrameContext): Verdict => {
      const depth = frame.depth ?? jsonDepth(frame.line, maxDepth);
      if (depth <= maxDepth) return CONTINUE;
      return deny('response_too_deep', `the response to ${quoteForMessage(frame.method)} nests deeper than ${maxDepth} levels`, 'forbidden');
    };
    rules.push(limitRule('limits.maxResponseDepth', mode, 'server-to-client', ['*'], evaluate, 'response'));
  }

  const resultSize = createResultSizeRule(limits, mode);
  if (resultSize !== undefined) rules.push(resultSize);
  return rules;
}
