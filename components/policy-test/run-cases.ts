import { evaluateFrame, type CompiledPolicy, type Evaluation } from '../policy/index.js';
import type { Expectation, PolicyTestCase } from './cases.js';

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** What differed, for a failed case. */
  readonly problems: readonly string[];
}

function describeOutcome(evaluation: Evaluation): string {
  const { action } = evaluation;
  if (action.kind === 'deny') return `deny by ${action.ruleId} (${action.verdict.reason})`;
  if (action.kind === 'replace') return `rewrite by ${evaluation.decisions.filter((d) => d.effect === 'rewrite' && d.enforced).map((d) => d.ruleId).join(', ')}`;
  return 'forward';
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function check(expect: Expectation, evaluation: Evaluation, output: string): string[] {
  const problems: string[] = [];
  const got = describeOutcome(evaluation);
  const enforcedRewrites = evaluation.decisions.filter((d) => d.effect === 'rewrite' && d.enforced).map((d) => d.ruleId);
  if (expect === 'forward' || 'forward' in expect) {
    if (evaluation.action.kind !== 'forward') problems.push(`expected forward, got ${got}`);
  } else if ('deny' in expect) {
    const { action } = evaluation;
    if (action.kind !== 'deny' || action.ruleId !== expect.deny || (expect.reason !== undefined && action.verdict.reason !== expect.reason)) {
      problems.push(`expected deny by ${expect.deny}${expect.reason ? ` (${expect.reason})` : ''}, got ${got}`);
    }
  } else if (evaluation.action.kind !== 'replace' || !sameList(enforcedRewrites, expect.rewrite)) {
    problems.push(`expected rewrite by ${expect.rewrite.join(', ')}, got ${got}`);
  }
  if (expect === 'forward') return problems;
  const would = (effect: 'deny' | 'rewrite') => evaluation.decisions.filter((d) => d.effect === effect && !d.enforced).map((d) => d.ruleId);
  if ('decisions' in expect && expect.decisions !== undefined && evaluation.decisions.length > 0) {
    problems.push(`expected no decisions, got ${evaluation.decisions.map((d) => `${d.ruleId}:${d.effect}`).join(', ')}`);
  }
  if (expect.wouldDeny !== undefined && !sameList(would('deny'), expect.wouldDeny)) problems.push(`expected would-deny by [${expect.wouldDeny.join(', ')}], got [${would('deny').join(', ')}]`);
  if (expect.wouldRewrite !== undefined && !sameList(would('rewrite'), expect.wouldRewrite)) problems.push(`expected would-rewrite by [${expect.wouldRewrite.join(', ')}], got [${would('rewrite').join(', ')}]`);
  for (const text of expect.outputIncludes ?? []) if (!output.includes(text)) problems.push(`the forwarded frame does not contain ${JSON.stringify(text)}`);
  for (const text of expect.outputExcludes ?? []) if (output.includes(text)) problems.push(`the forwarded frame still contains ${JSON.stringify(text)}`);
  return problems;
}

/** Runs the cases in order against one compiled policy (rate-limit state carries from case to case). */
export function runPolicyCases(policy: CompiledPolicy, cases: readonly PolicyTestCase[]): CaseResult[] {
  let now = 0;
  return cases.map((testCase) => {
    now = testCase.at ?? now;
    const line = Buffer.from(`${JSON.stringify(testCase.frame)}\n`);
    const direction = testCase.from === 'client' ? 'client-to-server' : 'server-to-client';
    const phase = testCase.answers === undefined ? 'request' : 'response';
    const method = testCase.answers ?? (typeof testCase.frame.method === 'string' ? testCase.frame.method : '');
    const problems: string[] = [];
    for (let run = 1; run <= testCase.repeat && problems.length === 0; run++) {
      const evaluation = evaluateFrame(policy, direction, phase, method, line, now, testCase.identity, false, 0, undefined, undefined, testCase.tool);
      const output = evaluation.action.kind === 'replace' ? evaluation.action.line.toString('utf8') : evaluation.action.kind === 'forward' ? line.toString('utf8') : '';
      for (const problem of check(testCase.expect, evaluation, output)) problems.push(testCase.repeat > 1 ? `run ${run} of ${testCase.repeat}: ${problem}` : problem);
    }
    return { name: testCase.name, passed: problems.length === 0, problems };
  });
}
