// Comparing what two policies said about one invocation (its request and its response). A
// decision counts whether enforced or a would-have (an observe-mode rule); groups say which.
// Per category, an invocation is `newly` (only the candidate has a decision of that category),
// `noLonger` (only the recording has one) or `unchanged` (both have one, by whatever rules).
// An unchanged one whose enforcement changes is also `nowEnforced` (the recording had only
// would-haves, the candidate enforces) or `noLongerEnforced`: that is what turning an observed
// rule on or off does, and a reviewer must see it.
import type { Decision } from '../policy/index.js';
import type { Target } from './pairing.js';

export const CATEGORIES = ['deny', 'rate_limited', 'redact', 'rewrite'] as const;
export type Category = (typeof CATEGORIES)[number];
export const CHANGES = ['newly', 'noLonger', 'nowEnforced', 'noLongerEnforced'] as const;
export type Change = (typeof CHANGES)[number];

/** A rate limit, or the in-flight limit (the execution report calls both `rate_limited`), or any other deny; rewrites by kind. */
export function categoryOf(decision: Pick<Decision, 'effect' | 'kind' | 'reason'>): Category {
  if (decision.effect === 'deny') return decision.kind === 'rateLimit' || decision.reason === 'too_many_in_flight' ? 'rate_limited' : 'deny';
  return decision.kind === 'redact' ? 'redact' : 'rewrite';
}

/** One invocation once replayed: what the recording and the candidate said about it. */
export interface Invocation {
  /** The line of its first frame (the request) in the transcript. */
  readonly line: number;
  readonly method: string;
  readonly id: string | undefined;
  readonly invocationId: string | undefined;
  readonly target: Target;
  readonly recorded: readonly Decision[];
  readonly candidate: readonly Decision[];
  /** The candidate lets a request through that the recording refused, so no response was recorded for it. */
  readonly newlyAllowed: boolean;
}

export interface InvocationRef {
  readonly line: number;
  readonly method: string;
  readonly id?: string;
  readonly invocationId?: string;
  readonly newlyAllowed?: true;
}

export interface DifferenceGroup {
  readonly category: Category;
  readonly change: Change;
  readonly rule: { readonly id: string; readonly kind: string; readonly enforced: boolean };
  readonly target: Target;
  readonly invocations: InvocationRef[];
}

export type Summary = Record<Category, { newly: number; noLonger: number; unchanged: number; nowEnforced: number; noLongerEnforced: number }>;

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Accumulates invocations into the summary and the difference groups. */
export class Tally {
  readonly summary: Summary = Object.fromEntries(CATEGORIES.map((c) => [c, { newly: 0, noLonger: 0, unchanged: 0, nowEnforced: 0, noLongerEnforced: 0 }])) as Summary;
  /** Invocations newly denied or rate-limited, or whose deny or rate limit becomes enforced: what --fail-on new-denies counts. */
  newDenials = 0;
  readonly #groups = new Map<string, DifferenceGroup>();

  add(invocation: Invocation): void {
    let newDenial = false;
    for (const category of CATEGORIES) {
      const recorded = invocation.recorded.filter((d) => categoryOf(d) === category);
      const candidate = invocation.candidate.filter((d) => categoryOf(d) === category);
      if (recorded.length === 0 && candidate.length === 0) continue;
      let change: Change;
      if (recorded.length > 0 && candidate.length > 0) {
        this.summary[category].unchanged += 1;
        const wasEnforced = recorded.some((d) => d.enforced);
        const isEnforced = candidate.some((d) => d.enforced);
        if (wasEnforced === isEnforced) continue;
        change = isEnforced ? 'nowEnforced' : 'noLongerEnforced';
      } else {
        change = candidate.length > 0 ? 'newly' : 'noLonger';
      }
      this.summary[category][change] += 1;
      if ((category === 'deny' || category === 'rate_limited') && (change === 'newly' || change === 'nowEnforced')) newDenial = true;
      const decisions = change === 'newly' || change === 'nowEnforced' ? candidate : recorded;
      for (const decision of decisions) this.#note(category, change, decision, invocation);
    }
    if (newDenial) this.newDenials += 1;
  }

  #note(category: Category, change: Change, decision: Decision, invocation: Invocation): void {
    const rule = { id: decision.ruleId, kind: decision.kind, enforced: decision.enforced };
    const key = JSON.stringify([category, change, rule.id, rule.kind, rule.enforced, invocation.target.type, invocation.target.name]);
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = { category, change, rule, target: invocation.target, invocations: [] };
      this.#groups.set(key, group);
    }
    const last = group.invocations[group.invocations.length - 1];
    if (last?.line === invocation.line) return; // two decisions of one rule (request and response): listed once
    group.invocations.push({
      line: invocation.line,
      method: invocation.method,
      ...(invocation.id === undefined ? {} : { id: invocation.id }),
      ...(invocation.invocationId === undefined ? {} : { invocationId: invocation.invocationId }),
      ...(invocation.newlyAllowed && (change === 'noLonger' || change === 'noLongerEnforced') ? { newlyAllowed: true as const } : {}),
    });
  }

  /** The groups in a fixed order: category, change (as CHANGES lists them), rule, enforced before would-have, target. */
  groups(): DifferenceGroup[] {
    const order = (g: DifferenceGroup): [number, number] => [CATEGORIES.indexOf(g.category), CHANGES.indexOf(g.change)];
    return [...this.#groups.values()].sort((a, b) => {
      const [ca, xa] = order(a);
      const [cb, xb] = order(b);
      return ca - cb || xa - xb || compareText(a.rule.id, b.rule.id) || compareText(a.rule.kind, b.rule.kind)
        || Number(b.rule.enforced) - Number(a.rule.enforced) || compareText(a.target.type, b.target.type) || compareText(a.target.name, b.target.name);
    }).map((g) => ({ ...g, invocations: [...g.invocations].sort((a, b) => a.line - b.line) }));
  }
}
