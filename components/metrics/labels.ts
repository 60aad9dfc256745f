import { MCP_METHODS } from '../mcp/index.js';
import type { InvocationOutcome } from '../pump/index.js';

// Label values come from peers (a client can send any method name): each label is bounded
// here, so a stream of invented names cannot grow the exposition without end.

/** Every method of every MCP era (an MCP fact: components/mcp): a label as itself. Anything else is `other`. */
export const KNOWN_METHODS = MCP_METHODS;

export const OTHER = 'other';

/** The method label of each index: the known methods, then `other`. */
export const METHOD_LABELS: readonly string[] = Object.freeze([...KNOWN_METHODS, OTHER]);
const METHOD_INDEX = new Map<string, number>(KNOWN_METHODS.map((method, index) => [method, index]));
const OTHER_METHOD_INDEX = KNOWN_METHODS.length;

/** The index of a method's label in METHOD_LABELS: one map lookup. */
export function methodIndex(method: string): number {
  return METHOD_INDEX.get(method) ?? OTHER_METHOD_INDEX;
}

/** A method as it appears in a label: itself if MCP defines it, else `other`. */
export function methodLabel(method: string): string {
  return METHOD_LABELS[methodIndex(method)]!;
}

export const OUTCOME_LABELS = Object.freeze([
  'forwarded', 'blocked', 'rate_limited', 'upstream_error', 'upstream_exited', 'timeout', 'cancelled', 'client_gone', OTHER,
] as const satisfies ReadonlyArray<InvocationOutcome | typeof OTHER>);
const OUTCOME_INDEX = new Map<string, number>(OUTCOME_LABELS.map((outcome, index) => [outcome, index]));

export function outcomeIndex(outcome: string): number {
  return OUTCOME_INDEX.get(outcome) ?? OUTCOME_LABELS.length - 1;
}

/** Rule ids come from the operator's policy, but reloads could add new ones forever: capped. */
export const MAX_RULE_LABELS = 1000;
