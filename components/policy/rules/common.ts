// What every rule factory shares: the compile context, and small readers over a frame's params.
// Nothing here runs per frame except the readers, which are a few property reads. A factory
// receives a spec the schema (document/schema.ts) has validated and only compiles it.
import type { PolicyMode, ToolReply } from '../document/document.js';
import type { DenyCategory, Verdict } from '../engine/types.js';
import { compileGlobs, type GlobMatcher } from '../engine/glob.js';

/** What a factory needs beyond its spec. */
export interface RuleContext {
  /** The rule's effective mode, already computed by the caller (a global observe wins). */
  readonly mode: PolicyMode;
}

/** An invalid spec, named by its rule (re-exported by rules/index.ts; the schema refuses invalid specs first). */
export class RuleSpecError extends Error {
  constructor(ruleId: string, message: string) {
    super(`rule ${JSON.stringify(ruleId)}: ${message}`);
    this.name = 'RuleSpecError';
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** allow/deny globs compiled once; `permits` is true when the text passes both. */
export interface AllowDeny {
  readonly allow: GlobMatcher | undefined;
  readonly deny: GlobMatcher | undefined;
}

export function compileAllowDeny(section: { readonly allow?: readonly string[]; readonly deny?: readonly string[] }): AllowDeny {
  return {
    allow: section.allow === undefined ? undefined : compileGlobs(section.allow),
    deny: section.deny === undefined ? undefined : compileGlobs(section.deny),
  };
}

export function permits(lists: AllowDeny, text: string): boolean {
  if (lists.allow !== undefined && !lists.allow(text)) return false;
  if (lists.deny !== undefined && lists.deny(text)) return false;
  return true;
}

/** `body.params` when it is an object, else undefined. */
export function readParams(body: unknown): Record<string, unknown> | undefined {
  if (!isRecord(body)) return undefined;
  const params = body['params'];
  return isRecord(params) ? params : undefined;
}

/** `body.result` when it is an object, else undefined (an error response has none). */
export function readResult(body: unknown): Record<string, unknown> | undefined {
  if (!isRecord(body)) return undefined;
  const result = body['result'];
  return isRecord(result) ? result : undefined;
}

/** A string from the frame, quoted and cut short for a message (names can be long). */
export function quoteForMessage(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/**
 * The denial of a request whose name (or URI) a rule that governs its method cannot read: the
 * rule cannot tell whether the request is one it refuses, so it refuses it (fail closed).
 */
export function invalidParams(method: string, field: string): Verdict {
  return deny('invalid_params', `${method} needs params.${field}, a string`, 'user_error');
}

export function deny(
  reason: string,
  message: string,
  category: DenyCategory,
  extra?: { readonly reply?: ToolReply; readonly retryAfterMs?: number },
): Verdict {
  return { effect: 'deny', reason, message, category, ...extra };
}
