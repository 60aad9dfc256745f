import { createNamespaceResolver, evaluateFrame, GATEWAY_SERVER_NAME, type CompiledPolicy, type Direction, type Evaluation, type FrameContext, type Phase, type ServiceResolver } from '../policy/index.js';
import type { Expectation, PolicyTestCase } from './cases.js';

/**
 * Whose frames the cases are. `server`: one governed server's (--proxy), `name` its executable's
 * basename (omitted: unknown, as in replay). `gateway`: a gateway's (--servers), each frame
 * resolved to its service by the resolver the running gateway uses, over the same names.
 */
export type CaseTarget =
  | { readonly kind: 'server'; readonly name?: string }
  | { readonly kind: 'gateway'; readonly separator: string; readonly services: readonly string[] };

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

/** What a resolver makes of a frame, read the way a rule's evaluation reads it. */
function placeFrame(resolver: ServiceResolver, direction: Direction, phase: Phase, method: string, line: Buffer, body: unknown, tool: string | undefined): string | null | undefined {
  const frame: FrameContext = { direction, phase, method, line, body: () => body, now: 0, tool };
  return resolver.serviceOf(frame);
}

/**
 * The server argument of one case's evaluation, or why the case cannot happen. In gateway mode a
 * frame placed by its bytes (a namespaced name; the gateway's own frames) keeps its place, and a
 * case's `server` may only agree with it. One the gateway places by its state (the service that
 * listed a URI, holds a cancelled request, sends a frame) is placed by the case's `server`, given
 * to the same resolver as the gateway's answer; without one it stays undecided, as for a URI no
 * service listed.
 */
function serverOfCase(target: CaseTarget, resolver: ServiceResolver | undefined, testCase: PolicyTestCase, direction: Direction, phase: Phase, method: string, line: Buffer): string | ServiceResolver | undefined | { readonly problem: string } {
  const stated = testCase.server;
  if (target.kind === 'server' || resolver === undefined) return stated ?? (target.kind === 'server' ? target.name : undefined);
  if (stated === undefined) return resolver;
  const byBytes = placeFrame(resolver, direction, phase, method, line, testCase.frame, testCase.tool);
  if (byBytes === stated) return resolver;
  if (byBytes === null) return { problem: `server: ${JSON.stringify(stated)}, but the gateway answers this frame itself or sends it to every service: it belongs to no one service` };
  if (byBytes !== undefined) return { problem: `server: ${JSON.stringify(stated)}, but the gateway routes this frame to ${JSON.stringify(byBytes)} by its name` };
  if (!target.services.includes(stated)) return { problem: `server: ${JSON.stringify(stated)} is not one of the gateway's services (${target.services.join(', ')})` };
  // The gateway's state, as this case states it: every question the resolver may ask it answers `stated`.
  const byState = createNamespaceResolver(target.separator, target.services, GATEWAY_SERVER_NAME, {
    serviceOfUri: () => stated,
    serviceOfCancelled: () => stated,
    sourceOfDelivery: () => stated,
    serviceOfAnswer: () => stated,
    serviceOfBatchAnswer: () => stated,
  });
  if (placeFrame(byState, direction, phase, method, line, testCase.frame, testCase.tool) === stated) return byState;
  return { problem: `server: ${JSON.stringify(stated)}, but the gateway places this frame neither by its name nor by what it remembers (a name in no namespace is refused): its service is undecided` };
}

/**
 * Runs the cases in order against one compiled policy (rate-limit state carries from case to
 * case), as frames of `target` (default: one server whose name is unknown).
 */
export function runPolicyCases(policy: CompiledPolicy, cases: readonly PolicyTestCase[], target: CaseTarget = { kind: 'server' }): CaseResult[] {
  const resolver = target.kind === 'gateway' ? createNamespaceResolver(target.separator, target.services, GATEWAY_SERVER_NAME) : undefined;
  let now = 0;
  return cases.map((testCase) => {
    now = testCase.at ?? now;
    const line = Buffer.from(`${JSON.stringify(testCase.frame)}\n`);
    const direction = testCase.from === 'client' ? 'client-to-server' : 'server-to-client';
    const phase = testCase.answers === undefined ? 'request' : 'response';
    const method = testCase.answers ?? (typeof testCase.frame.method === 'string' ? testCase.frame.method : '');
    const server = serverOfCase(target, resolver, testCase, direction, phase, method, line);
    if (typeof server === 'object' && 'problem' in server) return { name: testCase.name, passed: false, problems: [server.problem] };
    const problems: string[] = [];
    for (let run = 1; run <= testCase.repeat && problems.length === 0; run++) {
      const evaluation = evaluateFrame(policy, direction, phase, method, line, now, testCase.identity, false, 0, undefined, undefined, testCase.tool, server);
      const output = evaluation.action.kind === 'replace' ? evaluation.action.line.toString('utf8') : evaluation.action.kind === 'forward' ? line.toString('utf8') : '';
      for (const problem of check(testCase.expect, evaluation, output)) problems.push(testCase.repeat > 1 ? `run ${run} of ${testCase.repeat}: ${problem}` : problem);
    }
    return { name: testCase.name, passed: problems.length === 0, problems };
  });
}
