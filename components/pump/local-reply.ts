import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import type { Envelope, EnvelopeProblem } from '../framing/index.js';
import type { FrameAction } from '../policy/index.js';
import type { BatchSink, FrameSink } from './batch-sink.js';
import type { PumpContext, Side } from './context.js';
import type { InvocationOutcome } from './observer.js';
import type { Direction, Evaluation } from '../policy/index.js';
import { encodeDenial } from './policy-replies.js';
import { PumpRequest } from './request.js';

/** An error of the catalogue, or a rule's denial. */
export type LocalAnswer = {
  readonly kind?: 'error';
  readonly code: ErrorCode;
  readonly detail: string;
  /** Members added to the error's `data` (a deadline's `timeoutMs`, a breaker's `retryAfterMs`). */
  readonly data?: Record<string, unknown>;
} | Extract<FrameAction, { kind: 'deny' }>;

/** What a reply answers when no request object stands for it (a frame refused before it was one, an id read from a broken frame). */
export interface BareTarget {
  /** The id as written, or null when none could be read. */
  readonly id: string | null;
  readonly key?: string | undefined;
  readonly method?: string | undefined;
}

export type ReplyTarget = PumpRequest | BareTarget;

/**
 * Every answer the proxy writes itself, to either side: encoded (an error of the catalogue, or
 * a denial), counted (`answeredLocally`), the request it answers ended with `outcome` (its
 * report), and written — or, inside a batch, handed to the batch's sink, which is written and
 * counted once for the whole batch. Returns the reply.
 */
export type LocalReply = (side: Side, target: ReplyTarget, answer: LocalAnswer, outcome?: InvocationOutcome, sink?: FrameSink) => Buffer;

export function createLocalReply(ctx: PumpContext): LocalReply {
  return (side, target, answer, outcome = 'blocked', sink) => {
    const request = target instanceof PumpRequest ? target : undefined;
    const rawId = request !== undefined ? request.rawId : (target as BareTarget).id;
    const method = request !== undefined ? request.method : (target as BareTarget).method;
    const reply = answer.kind === 'deny'
      ? encodeDenial(rawId, answer.ruleId, answer.verdict, method ?? '')
      : encodeErrorResponse(rawId, answer.code, answer.detail, answer.data);
    // Enough for a channel to route the reply without reading it (HTTP: which caller waits for this id).
    const envelope: Envelope = {
      kind: answer.kind === 'deny' && answer.verdict.reply === 'tool-error' && method === 'tools/call' && rawId !== null ? 'response' : 'error',
      id: rawId ?? 'null', key: target.key, method: undefined,
    };
    if (sink !== undefined) sink.deliver(reply, envelope, false);
    else {
      ctx.stats.answeredLocally++;
      if (side === 'client') ctx.client.send(reply, envelope);
      else ctx.server.send(reply, envelope);
    }
    request?.end(outcome, reply);
    return reply;
  };
}

/** How a request the proxy answers for a channel (onLocalReply) ended, by the error it got. */
export function outcomeOfCode(code: ErrorCode): InvocationOutcome {
  switch (code) {
    case 'SIDECAR_ERR_UPSTREAM_EXITED':
    case 'SIDECAR_ERR_UPSTREAM_RESTARTING':
    case 'SIDECAR_ERR_SHUTTING_DOWN':
    case 'SIDECAR_ERR_CIRCUIT_OPEN':
      return 'upstream_exited';
    case 'SIDECAR_ERR_REQUEST_TIMEOUT':
      return 'timeout';
    case 'SIDECAR_ERR_TOO_MANY_PENDING':
    case 'SIDECAR_ERR_POLICY_RATE_LIMITED':
      return 'rate_limited';
    case 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME':
    case 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE':
    case 'SIDECAR_ERR_INTERNAL':
      return 'upstream_error';
    default:
      return 'blocked';
  }
}

/** A refused batch's answers, written as one array and counted once (nothing is written for a batch with no request). */
export function sendBatchReply(ctx: PumpContext, sink: BatchSink): void {
  const joined = sink.joined();
  if (joined === undefined) return;
  ctx.stats.answeredLocally++;
  ctx.client.send(joined.line, joined.envelope);
}

/** What the request fields a reply needs are read from. */
export interface RequestFields {
  readonly id?: string | undefined;
  readonly key?: string | undefined;
  readonly method?: string | undefined;
}

/**
 * A request refused where it starts (never in a ledger): with an observer, a request object
 * observed now with what the policy said, for localReply to end (its report); else a bare target.
 */
export function refusedRequest(ctx: PumpContext, direction: Direction, fields: RequestFields, line: Buffer, evaluation: Evaluation): ReplyTarget {
  const { id, key, method } = fields;
  if (ctx.observer === undefined || key === undefined) return { id: id ?? null, key, method };
  const observed = ctx.observe(direction, 'request', 'request', method ?? '', id, line, evaluation, 'deny');
  return new PumpRequest(direction, id!, key, method ?? '', ctx.ends, observed, ctx.observer.onFrame(observed));
}

/** The error a frame that is not one reading of a JSON-RPC message is answered with. */
export function problemCode(problem: EnvelopeProblem): ErrorCode {
  return problem.problem === 'parse' ? 'SIDECAR_ERR_PARSE' : problem.problem === 'ambiguous' ? 'SIDECAR_ERR_AMBIGUOUS_FRAME' : 'SIDECAR_ERR_INVALID_REQUEST';
}
