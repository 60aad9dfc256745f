import type { PolicyDocument, PolicyMode, RuleSpec } from '../document/document.js';
import { compileGlobs, type GlobMatcher } from './glob.js';
import type { Direction, Phase, Rule } from './types.js';

/** Builds the rules of one spec, given its effective mode. */
export type RuleFactory = (spec: RuleSpec, context: { readonly mode: PolicyMode }) => Rule[];

/** A policy compiled once at load: immutable, with its rules indexed by where they can act. */
export interface CompiledPolicy {
  readonly name: string;
  readonly revision: string;
  readonly digest: string;
  readonly mode: PolicyMode;
  readonly document: PolicyDocument;
  readonly rules: readonly Rule[];
  /** True when no rule can act on anything: the frame path skips the engine entirely. */
  readonly isEmpty: boolean;
  /** True when a response rule needs the tool its `tools/call` named (Rule.needsTool). */
  readonly responsesNeedTool: boolean;
  /** The rules, in policy order, that can act on frames of this method, direction and phase. */
  rulesFor(direction: Direction, phase: Phase, method: string): readonly Rule[];
}

const NO_RULES: readonly Rule[] = Object.freeze([]);
// Methods are few, but a peer could send endless distinct ones: the memo stops growing here.
const MAX_MEMOIZED_METHODS = 1024;

/** The effective mode: a global observe is a master dry-run switch; otherwise the rule's own, else enforce. */
export function effectiveMode(global: PolicyMode, rule: PolicyMode | undefined): PolicyMode {
  return global === 'observe' ? 'observe' : (rule ?? 'enforce');
}

/**
 * Compiles a validated document: `extraRules` first (the limits section, compiled by the caller:
 * engine/build.ts), then its rules in file order. `modeOverride` (--mode / MCP_PROXY_MODE)
 * replaces the document's mode. Light: it loads no rule kind (the frame path imports this module).
 */
export function compilePolicy(document: PolicyDocument, digest: string, createRules: RuleFactory, extraRules: readonly Rule[] = [], modeOverride?: PolicyMode): CompiledPolicy {
  const mode = modeOverride ?? document.mode;
  const rules: Rule[] = [...extraRules];
  for (const spec of document.rules) rules.push(...createRules(spec, { mode: effectiveMode(mode, spec.mode) }));
  Object.freeze(rules);

  // One index per (direction, phase): method → rules, filled on first sight of a method.
  const slots = new Map<string, { readonly candidates: ReadonlyArray<{ rule: Rule; matches: GlobMatcher }>; readonly memo: Map<string, readonly Rule[]> }>();
  for (const direction of ['client-to-server', 'server-to-client'] as const) {
    for (const phase of ['request', 'response'] as const) {
      const candidates = rules.filter((r) => r.direction === direction && r.phase === phase).map((rule) => ({ rule, matches: compileGlobs(rule.methods) }));
      slots.set(`${direction}:${phase}`, { candidates, memo: new Map() });
    }
  }
  const slotList = [...slots.values()];
  const slotOf = (direction: Direction, phase: Phase) => slotList[(direction === 'client-to-server' ? 0 : 2) + (phase === 'request' ? 0 : 1)]!;

  return Object.freeze({
    name: document.metadata.name,
    revision: document.metadata.revision,
    digest,
    mode,
    document,
    rules,
    isEmpty: rules.length === 0,
    responsesNeedTool: rules.some((rule) => rule.phase === 'response' && rule.needsTool === true),
    rulesFor(direction: Direction, phase: Phase, method: string): readonly Rule[] {
      const slot = slotOf(direction, phase);
      if (slot.candidates.length === 0) return NO_RULES;
      const known = slot.memo.get(method);
      if (known !== undefined) return known;
      const found = slot.candidates.filter((c) => c.matches(method)).map((c) => c.rule);
      const list = found.length === 0 ? NO_RULES : Object.freeze(found);
      if (slot.memo.size < MAX_MEMOIZED_METHODS) slot.memo.set(method, list);
      return list;
    },
  });
}
