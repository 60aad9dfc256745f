import type { CompiledPolicy } from './compiled-policy.js';
import type { DenyCategory, Direction, FrameContext, Phase, Rule, Verdict } from './types.js';

/** One rule's say on one frame, in evaluation order: what a report records. */
export interface Decision {
  readonly ruleId: string;
  readonly kind: string;
  readonly phase: Phase;
  readonly effect: 'deny' | 'rewrite';
  /** False for a would-have: the rule (or the whole policy) is in observe mode. */
  readonly enforced: boolean;
  readonly reason: string;
  readonly message?: string;
  readonly changes?: number;
}

export type DenyVerdict = Extract<Verdict, { effect: 'deny' }>;

export type FrameAction =
  /** Forward the original bytes. */
  | { readonly kind: 'forward' }
  /** Forward this re-serialized frame instead (an enforced rewrite). */
  | { readonly kind: 'replace'; readonly line: Buffer }
  /** Do not forward: answer (a request) or drop (a notification). */
  | { readonly kind: 'deny'; readonly ruleId: string; readonly verdict: DenyVerdict };

export interface Evaluation {
  readonly action: FrameAction;
  readonly decisions: readonly Decision[];
}

const FORWARD: FrameAction = Object.freeze({ kind: 'forward' });
/** The answer for every frame no rule can act on: shared, allocation-free. */
export const PASS: Evaluation = Object.freeze({ action: FORWARD, decisions: Object.freeze([]) });

function failed(rule: Rule, error: unknown): DenyVerdict {
  const invalidJson = error instanceof SyntaxError;
  const category: DenyCategory = invalidJson ? 'user_error' : 'internal_error';
  return {
    effect: 'deny',
    reason: invalidJson ? 'invalid_json' : 'rule_failed',
    category,
    message: invalidJson ? 'the frame is not valid JSON' : `rule ${rule.id} failed to evaluate: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/**
 * Runs the frame through the rules that can act on it, in policy order (Envoy's chain, RBAC's
 * shadow rules). Observe-mode rules are recorded and change nothing. The first enforced deny
 * stops the chain; enforced rewrites apply in order, each rule seeing the previous ones' result.
 */
export function evaluateFrame(policy: CompiledPolicy, direction: Direction, phase: Phase, method: string, line: Buffer, now: number): Evaluation {
  const rules = policy.rulesFor(direction, phase, method);
  if (rules.length === 0) return PASS;

  let body: unknown;
  let parsed = false;
  const frame: FrameContext = {
    direction,
    phase,
    method,
    line,
    now,
    body() {
      if (!parsed) {
        body = JSON.parse(line.toString('utf8'));
        parsed = true;
      }
      return body;
    },
  };
  const decisions: Decision[] = [];
  let rewritten = false;
  for (const rule of rules) {
    let verdict: Verdict;
    try {
      verdict = rule.evaluate(frame);
    } catch (error) {
      verdict = failed(rule, error);
    }
    if (verdict.effect === 'continue') continue;
    const enforced = rule.mode === 'enforce';
    if (verdict.effect === 'deny') {
      decisions.push({ ruleId: rule.id, kind: rule.kind, phase, effect: 'deny', enforced, reason: verdict.reason, message: verdict.message });
      if (enforced) return { action: { kind: 'deny', ruleId: rule.id, verdict }, decisions };
    } else {
      decisions.push({ ruleId: rule.id, kind: rule.kind, phase, effect: 'rewrite', enforced, reason: verdict.reason, changes: verdict.changes });
      if (enforced) {
        body = verdict.body;
        rewritten = true;
      }
    }
  }
  if (!rewritten) return { action: FORWARD, decisions };
  return { action: { kind: 'replace', line: Buffer.from(`${JSON.stringify(body)}\n`) }, decisions };
}
