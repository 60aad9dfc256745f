import type { BatchMember, Envelope, EnvelopeProblem } from '../framing/index.js';
import { BatchSink } from './batch-sink.js';
import type { PumpContext, Side } from './context.js';
import { countInternalError } from './internal-errors.js';
import { sendBatchReply, type LocalReply } from './local-reply.js';
import type { PumpRequest } from './request.js';

/** An error as a log line tells it: the stack (which starts with the message), never throwing. */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.stack ?? error.message : String(error);
  } catch {
    return 'an error that cannot be described';
  }
}

/**
 * A failure inside the proxy while handling one frame: logged once, counted, and what the
 * frame's peer waits for answered with SIDECAR_ERR_INTERNAL, so the session goes on.
 */
export interface FaultBoundary {
  /**
   * A lone frame. `request` is the client request a server response had already settled when
   * it failed (it is in no ledger any more, and must not hang).
   */
  frame(side: Side, envelope: Envelope | EnvelopeProblem | undefined, error: unknown, request?: PumpRequest): void;
  /**
   * A client batch, failed before it was forwarded or its refusal written: each of its
   * requests is answered, in one array. `admitted` members (the first ones, in order) were
   * admitted to the ledger: they leave it and end there, once; the others were never admitted.
   */
  clientBatch(members: readonly BatchMember[], admitted: number, error: unknown): void;
}

const DETAIL = 'see the proxy\'s log';
const INTERNAL = { code: 'SIDECAR_ERR_INTERNAL', detail: DETAIL } as const;

export function createFaultBoundary(ctx: PumpContext, localReply: LocalReply): FaultBoundary {
  const { stats, logger, ledger } = ctx;

  const answerAfterFault = (side: Side, envelope: Envelope | EnvelopeProblem | undefined, request: PumpRequest | undefined): void => {
    if (side === 'client') {
      if (envelope?.kind === 'request' && envelope.key !== undefined) {
        // Not forwarded (or its answer will find nothing in flight): the client hears once.
        const pending = ledger.settle(envelope.key);
        if (pending === undefined) return void localReply('client', { id: envelope.id!, key: envelope.key }, INTERNAL);
        localReply('client', pending, INTERNAL, 'upstream_error'); // its report, as for a fault on the response side
        ctx.notifyIfIdle();
      }
      return;
    }
    if (envelope?.kind === 'request' && envelope.id !== undefined) {
      localReply('server', { id: envelope.id, key: envelope.key }, INTERNAL);
      return;
    }
    // A response: the request it answered must not hang.
    const pending = request ?? (envelope?.key === undefined ? undefined : ledger.settle(envelope.key));
    if (pending === undefined) return;
    const answer = { code: 'SIDECAR_ERR_INTERNAL' as const, detail: `${DETAIL}; request ${pending.method}` };
    // Ended already (the fault came after its end): answered, not ended a second time.
    if (pending.ended) localReply('client', { id: pending.rawId, key: pending.key, method: pending.method }, answer);
    else localReply('client', pending, answer, 'upstream_error');
    ctx.notifyIfIdle();
  };

  // The batch's ids were checked against the ledger before any member was admitted, so a key
  // settled here is this batch's own request. A member refused before the fault (its answer
  // never written) may have ended already: it is answered, not ended again.
  const answerBatchAfterFault = (members: readonly BatchMember[], admitted: number): void => {
    const sink = new BatchSink();
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      if (member.kind !== 'request') continue;
      const pending = i < admitted ? ledger.settle(member.key!) : undefined;
      if (pending !== undefined) localReply('client', pending, INTERNAL, 'upstream_error', sink);
      else localReply('client', { id: member.id!, key: member.key, method: member.method }, INTERNAL, 'blocked', sink);
    }
    sendBatchReply(ctx, sink);
    if (admitted > 0) ctx.notifyIfIdle();
  };

  const logFault = (side: Side, method: string | undefined, error: unknown): void => {
    stats.internalErrors++;
    countInternalError();
    // `detail` is redacted like every field that may quote a peer (an error's message can).
    logger.error({ detail: describeError(error), side, method }, 'internal error while handling a frame; it was answered with an error and the session goes on');
  };
  // Even the answer failed (a broken channel): logged; the session's own end handles the rest.
  const logAnswerFault = (side: Side, again: unknown): void => logger.error({ detail: describeError(again), side }, 'internal error while answering a frame that failed');

  return {
    frame(side, envelope, error, request) {
      logFault(side, envelope?.method, error);
      try {
        answerAfterFault(side, envelope, request);
      } catch (again) {
        logAnswerFault(side, again);
      }
    },
    clientBatch(members, admitted, error) {
      logFault('client', undefined, error);
      try {
        answerBatchAfterFault(members, admitted);
      } catch (again) {
        logAnswerFault('client', again);
      }
    },
  };
}
