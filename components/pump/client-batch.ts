import type { BatchMember, Envelope } from '../framing/index.js';
import { PASS, type Evaluation } from '../policy/index.js';
import { BatchSink } from './batch-sink.js';
import { denialOutcome, MAX_PENDING, type PumpContext } from './context.js';
import type { FaultBoundary } from './fault-boundary.js';
import { refusedRequest, sendBatchReply, type LocalAnswer, type LocalReply } from './local-reply.js';
import type { InvocationOutcome } from './observer.js';

/** What the lone client routes lend a batch: the refusal in force, and how each kind of message is admitted. */
export interface ClientAdmission {
  /** The answer every new request gets while the session stops; undefined while it runs. */
  refusal(): LocalAnswer | undefined;
  /** The circuit breaker's answer for a batch with requests (undefined: it passes). */
  upstreamRefusal(): LocalAnswer | undefined;
  request(request: Envelope, line: Buffer, evaluation: Evaluation): void;
  notification(notification: Envelope, line: Buffer, evaluation: Evaluation): void;
  response(response: Envelope, line: Buffer): void;
}

interface MemberAnswer {
  readonly answer: LocalAnswer;
  readonly outcome: InvocationOutcome;
}

const NO_EVALUATIONS: readonly Evaluation[] = [];

// A client batch (2025-03-26) is forwarded as its original bytes or refused whole: a server
// reads it as one array, so a member cannot be cut out of it. Every member first passes what a
// lone message of its kind passes — what refuses a request before any rule (here for the batch
// as a whole: its size, its ids), then the rules — and only when all passed is each admitted as
// a lone one would be, and the batch sent. That order is why it is its own route rather than
// the lone routes into a sink (as a server batch is): nothing is admitted before the verdict on
// the whole. A fault anywhere in it answers each of its requests, in one array, and ends each
// it had admitted, once. Built once per session; nothing in it outlives a frame.
export function createClientBatchRoute(ctx: PumpContext, localReply: LocalReply, faults: FaultBoundary, admit: ClientAdmission): (line: Buffer, batch: Envelope) => void {
  const { ledger, stats, logger } = ctx;

  /** Answers each request of a refused batch, in one array: the refused member with `own`, the others with `other`. */
  const refuseBatch = (members: readonly BatchMember[], refusedAt: number, own: MemberAnswer & { evaluation: Evaluation }, other: (member: BatchMember) => MemberAnswer): void => {
    const sink = new BatchSink();
    members.forEach((member, i) => {
      if (member.kind !== 'request') return;
      const { answer, outcome } = i === refusedAt ? own : other(member);
      localReply('client', refusedRequest(ctx, 'client-to-server', member, member.bytes, i === refusedAt ? own.evaluation : PASS), answer, outcome, sink);
    });
    sendBatchReply(ctx, sink);
  };

  // A batch whose requests would exceed MAX_PENDING, or whose ids clash with each other or with
  // a request in flight, is refused whole.
  const refuseBatchByIds = (members: readonly BatchMember[]): boolean => {
    const requests = members.filter((m) => m.kind === 'request').length;
    if (requests > 0 && ledger.size + requests > MAX_PENDING) {
      const tooMany = { answer: { code: 'SIDECAR_ERR_TOO_MANY_PENDING', detail: `${MAX_PENDING} requests to the server would be unanswered` } as LocalAnswer, outcome: 'rate_limited' as const, evaluation: PASS };
      refuseBatch(members, -1, tooMany, () => tooMany);
      return true;
    }
    const seen = new Set<string>();
    for (const [index, member] of members.entries()) {
      if (member.kind !== 'request') continue;
      const key = member.key!;
      if (!ledger.has(key) && !seen.has(key)) {
        seen.add(key);
        continue;
      }
      stats.invalidFromClient++;
      logger.warn({ id: member.id, method: member.method }, 'refused a batch: a request\'s id is already in flight');
      refuseBatch(members, index,
        { answer: { code: 'SIDECAR_ERR_ID_IN_FLIGHT', detail: `id ${member.id} (request ${member.method})` }, outcome: 'blocked', evaluation: PASS },
        () => ({ answer: { code: 'SIDECAR_ERR_ID_IN_FLIGHT', detail: `another request in the batch reuses an id in flight (${member.id})` }, outcome: 'blocked' }));
      return true;
    }
    return false;
  };

  // The rules, member by member, as for a lone message (a request counts the batch's requests
  // before it as in flight). A denial refuses the batch; so does a rewrite, which cannot apply
  // inside a batch forwarded as sent. Returns each member's evaluation, or undefined when refused.
  const judgeBatchByPolicy = (members: readonly BatchMember[]): readonly Evaluation[] | undefined => {
    if (!ctx.policyActive()) return NO_EVALUATIONS;
    const evaluations: Evaluation[] = [];
    let requestsBefore = 0;
    for (const [index, member] of members.entries()) {
      if (member.kind !== 'request' && member.kind !== 'notification') {
        evaluations.push(PASS);
        continue;
      }
      const evaluation = ctx.evaluate('client-to-server', 'request', member.method!, member.id, member.bytes, member.kind === 'request' ? ledger.size + requestsBefore++ : 0, undefined);
      evaluations.push(evaluation);
      const action = evaluation.action;
      if (action.kind === 'forward') continue;
      const denial: LocalAnswer = action.kind === 'deny' ? action : {
        kind: 'deny', ruleId: evaluation.decisions[evaluation.decisions.length - 1]?.ruleId ?? 'batch',
        verdict: { effect: 'deny', reason: 'batch_rewrite', message: 'a rule rewrites this request, which it cannot do inside a batch: send it alone', category: 'user_error' },
      };
      const other: LocalAnswer = { kind: 'deny', ruleId: denial.ruleId, verdict: { effect: 'deny', reason: 'batch_refused', message: `another request in the batch was denied by rule ${denial.ruleId}`, category: 'forbidden' } };
      refuseBatch(members, index, { answer: denial, outcome: denialOutcome(evaluation), evaluation }, () => ({ answer: other, outcome: 'blocked' }));
      return undefined;
    }
    return evaluations;
  };

  return (line, batch) => {
    const members = batch.members!;
    // How many members were admitted, in order: what a fault must take back out of the ledger.
    let admitted = 0;
    try {
      const refusal = admit.refusal();
      if (refusal) return void localReply('client', { id: null }, refusal);
      if (refuseBatchByIds(members)) return;
      const evaluations = judgeBatchByPolicy(members);
      if (evaluations === undefined) return;
      const failFast = members.some((m) => m.kind === 'request') ? admit.upstreamRefusal() : undefined;
      if (failFast !== undefined) {
        const refused = { answer: failFast, outcome: 'upstream_exited' as const };
        return refuseBatch(members, -1, { ...refused, evaluation: PASS }, () => refused);
      }
      for (; admitted < members.length; admitted++) {
        const member = members[admitted]!;
        const evaluation = evaluations[admitted] ?? PASS;
        if (member.kind === 'request') admit.request(member, member.bytes, evaluation);
        else if (member.kind === 'notification') admit.notification(member, member.bytes, evaluation);
        else admit.response(member, member.bytes);
      }
      ctx.server.send(line, batch);
    } catch (error) {
      faults.clientBatch(members, admitted, error);
    }
  };
}
