import { parseFrameBody, readEnvelope, type Envelope, type EnvelopeProblem, type EnvelopeResult } from '../framing/index.js';
import type { ErrorCode } from '../errors/index.js';
import { CANCELLED, cancelledRequestKey, targetOf } from '../mcp/index.js';
import { PASS, type Evaluation } from '../policy/index.js';
import type { LocalReplyTarget } from '../transport/index.js';
import { BatchSink, type FrameSink } from './batch-sink.js';
import { CancelledRequests } from './cancelled-requests.js';
import { createClientBatchRoute } from './client-batch.js';
import { createPumpContext, denialOutcome, MAX_PENDING, type Pump, type PumpOptions } from './context.js';
import { createFaultBoundary } from './fault-boundary.js';
import { createLocalReply, outcomeOfCode, problemCode, refusedRequest, sendBatchReply, type LocalAnswer } from './local-reply.js';
import type { InvocationOutcome } from './observer.js';
import { createOversizedHandlers } from './oversized.js';
import { PumpRequest } from './request.js';
import { createServerRoutes } from './server-routes.js';
import { createUpstreamGuards } from './upstream-guards.js';

export { MAX_PENDING, type DecisionEvent, type PolicyHolder, type Pump, type PumpEvents, type PumpOptions, type PumpStats } from './context.js';

const NO_BYTES = Buffer.alloc(0);
/** A sink that takes nothing: localReply only encodes and ends (the channel writes the bytes, in a frame of its own). */
const ENCODE_ONLY: FrameSink = { deliver: () => {}, drop: () => {} };

// Routes frames between the client and the server channels. Frames are forwarded as their
// original bytes; what the proxy writes itself leaves through localReply. Every frame is read
// once (by the channel, or here) and handled inside a fault boundary: a failure answers that
// frame and the session goes on. This file is the router and the client's lone routes (the
// hot path, kept together); a client batch (client-batch.ts) and everything from the server
// (server-routes.ts) have their own routes, each built once per session from the same context.
const TOOLS_CALL = 'tools/call';

/** The tool a `tools/call` names (its body as the rules parsed it, else parsed here); undefined if unreadable. */
function toolNameOf(line: Buffer, parsed: unknown): string | undefined {
  try {
    const target = targetOf(TOOLS_CALL, parsed ?? parseFrameBody(line));
    return target?.name;
  } catch {
    return undefined;
  }
}

export function createPump(options: PumpOptions): Pump {
  const ctx = createPumpContext(options);
  const { client, server, logger, events, stats, ledger, serverRequests, observer, ends } = { ...ctx, events: options.events };
  const localReply = createLocalReply(ctx);
  const faults = createFaultBoundary(ctx, localReply);
  const oversized = createOversizedHandlers(ctx, localReply);
  // Session state (not per frame): the refusal while stopping, the requests the client cancelled.
  let refusal: LocalAnswer | undefined;
  const cancelled = new CancelledRequests();

  // Request deadlines and the circuit breaker (upstream-guards.ts): nothing of either per frame when off.
  const guards = createUpstreamGuards(ctx, options, localReply, faults);

  // ---- client → server

  /** What refuses a client request before any rule looks at it; `pending` counts what is in flight before it. */
  const refusalOf = (request: Envelope, pending: number): { answer: LocalAnswer; outcome: InvocationOutcome } | undefined => {
    if (refusal) return { answer: refusal, outcome: 'upstream_exited' };
    // One id, one request: a second one in flight would take the first one's answer.
    if (ledger.has(request.key!)) {
      stats.invalidFromClient++;
      logger.warn({ id: request.id, method: request.method }, 'refused a request whose id is already in flight');
      return { answer: { code: 'SIDECAR_ERR_ID_IN_FLIGHT', detail: `id ${request.id} (request ${request.method})` }, outcome: 'blocked' };
    }
    if (pending >= MAX_PENDING) return { answer: { code: 'SIDECAR_ERR_TOO_MANY_PENDING', detail: `${MAX_PENDING} requests to the server are unanswered` }, outcome: 'rate_limited' };
    return undefined;
  };
  /** A client request that passed: tracked (and observed) until its answer. */
  const admitClientRequest = (request: Envelope, line: Buffer, evaluation: Evaluation): PumpRequest => {
    let admitted: PumpRequest;
    if (observer === undefined) admitted = new PumpRequest('client-to-server', request.id!, request.key!, request.method!, ends);
    else {
      const observed = ctx.observe('client-to-server', 'request', 'request', request.method!, request.id, line, evaluation, evaluation.action.kind);
      admitted = new PumpRequest('client-to-server', request.id!, request.key!, request.method!, ends, observed, observer.onFrame(observed));
    }
    if (request.method === TOOLS_CALL && ctx.responsesNeedTool()) admitted.tool = toolNameOf(line, evaluation.body);
    ledger.add(admitted);
    guards.admitted(admitted, line, evaluation);
    return admitted;
  };
  // --trace-inject: a tracer rewrites what an admitted request is sent as. Chosen once a session,
  // so without it a request is sent exactly as before, with no test per frame.
  const rewriteForwarded = observer?.rewriteForwarded;
  const sendClientRequest: (bytes: Buffer, request: Envelope, admitted: PumpRequest) => void = rewriteForwarded === undefined
    ? (bytes, request) => server.send(bytes, request)
    : (bytes, request, admitted) => server.send(rewriteForwarded(admitted.trace, bytes), request);
  /** A client notification that passed the rules: observed; a cancellation settles what it cancels. */
  const admitClientNotification = (notification: Envelope, line: Buffer, evaluation: Evaluation): void => {
    if (observer !== undefined) observer.onFrame(ctx.observe('client-to-server', 'request', 'notification', notification.method!, undefined, line, evaluation, evaluation.action.kind));
    if (notification.method === CANCELLED && evaluation.action.kind !== 'deny') settleCancelled(line, evaluation.body);
  };
  /** The client's answer to a server request: settles it. */
  const settleServerRequest = (response: Envelope, line: Buffer): void => {
    const pending = response.key === undefined ? undefined : serverRequests.settle(response.key);
    if (pending === undefined) return;
    const observed = observer === undefined ? undefined : ctx.observe('client-to-server', 'response', 'response', pending.method, response.id, line, PASS, 'forward');
    if (observed !== undefined) observer!.onFrame(observed);
    pending.end(response.kind === 'error' ? 'upstream_error' : 'forwarded', line, observed);
  };

  // MCP: a request the client cancelled gets no response, so the proxy stops waiting for one
  // (else a drain at EOF would wait its full timeout for it). A late response is still forwarded.
  // The body is parsed once: the rules' parse when they made one, else here.
  const settleCancelled = (line: Buffer, parsed: unknown): void => {
    let body = parsed;
    if (body === undefined) {
      try {
        body = parseFrameBody(line);
      } catch {
        return;
      }
    }
    const key = cancelledRequestKey(body);
    const entry = key === undefined ? undefined : ledger.settle(key);
    if (entry === undefined) return;
    entry.end('cancelled');
    ctx.notifyIfIdle();
    // Kept, so a late response is still evaluated by what it answers (response rules redact it).
    cancelled.remember(entry);
  };

  const passClientRequest = (request: Envelope, line: Buffer): void => {
    const refused = refusalOf(request, ledger.size);
    if (refused !== undefined) return void localReply('client', refusedRequest(ctx, 'client-to-server', request, line, PASS), refused.answer, refused.outcome);
    const evaluation = ctx.evaluate('client-to-server', 'request', request.method!, request.id, line, ledger.size, request.depth);
    const action = evaluation.action;
    if (action.kind === 'deny') return void localReply('client', refusedRequest(ctx, 'client-to-server', request, line, evaluation), action, denialOutcome(evaluation));
    const failFast = guards.refusal();
    if (failFast !== undefined) return void localReply('client', refusedRequest(ctx, 'client-to-server', request, line, evaluation), failFast, 'upstream_exited');
    sendClientRequest(action.kind === 'replace' ? action.line : line, request, admitClientRequest(request, line, evaluation));
  };

  const passClientNotification = (notification: Envelope, line: Buffer): void => {
    const evaluation = ctx.evaluate('client-to-server', 'request', notification.method!, undefined, line, 0, notification.depth);
    admitClientNotification(notification, line, evaluation);
    if (evaluation.action.kind === 'deny') return; // nobody to answer: dropped, and recorded
    server.send(evaluation.action.kind === 'replace' ? evaluation.action.line : line, notification);
  };

  const passClientBatch = createClientBatchRoute(ctx, localReply, faults, {
    refusal: () => refusal,
    upstreamRefusal: guards.refusal,
    request: admitClientRequest,
    notification: admitClientNotification,
    response: settleServerRequest,
  });

  /** A frame from the client that is not one reading of a JSON-RPC message: answered, never forwarded. */
  const refuseClientFrame = (problem: EnvelopeProblem, line: Buffer): void => {
    stats.invalidFromClient++;
    const answer: LocalAnswer = { code: problemCode(problem), detail: problem.detail };
    logger.warn({ problem: problem.problem, detail: problem.detail, bytes: line.length }, 'invalid frame from the client answered with an error');
    if (problem.requests !== undefined && problem.requests.length > 0) {
      // A batch: every request in it that could be read gets its own error (JSON-RPC answers a batch with a batch).
      const sink = new BatchSink();
      for (const request of problem.requests) localReply('client', request, answer, 'blocked', sink);
      return sendBatchReply(ctx, sink);
    }
    // Echo the id when it was read, unambiguously, before the fault (else null, JSON-RPC 2.0 §5.1).
    localReply('client', problem.key !== undefined ? { id: problem.id!, key: problem.key } : { id: null }, answer);
  };

  const routeClientFrame = (envelope: EnvelopeResult, line: Buffer): void => {
    switch (envelope.kind) {
      case 'request':
        return passClientRequest(envelope, line);
      case 'notification':
        return passClientNotification(envelope, line);
      case 'response':
      case 'error':
        settleServerRequest(envelope, line);
        return server.send(line, envelope);
      case 'batch':
        return passClientBatch(line, envelope);
      case 'invalid':
        if (envelope.problem === 'blank') return; // whitespace only: skipped like an empty line
        return refuseClientFrame(envelope, line);
    }
  };

  const routeServerFrame = createServerRoutes(ctx, localReply, faults, cancelled, guards.health);

  // ---- the channels

  function failPending(code: ErrorCode, detail: string, spared?: ReadonlySet<string>, outcome: InvocationOutcome = 'upstream_exited'): void {
    for (const pending of ledger.drain(spared)) localReply('client', pending, { code, detail: `${detail}; request ${pending.method}` }, outcome);
    // The server's requests to the client: the server that asked is gone (or the session is).
    for (const pending of serverRequests.drain()) pending.end(outcome);
    ctx.notifyIfIdle();
    guards.idle(); // nothing is left to time out: no timer outlives the session
  }

  /**
   * A client request a channel gives up on. The server channel (a restart queue) held one the
   * ledger has: it ends there. The client channel (an HTTP body refused, a request still queued
   * when its session ends) gives up on one the pump never admitted: it is a refused one, and a
   * request in the ledger with the same id (a collision) is left alone.
   */
  const answerForChannel = (side: 'client' | 'server') => (target: LocalReplyTarget, code: ErrorCode, detail: string): void => {
    try {
      const pending = side === 'server' ? ledger.settle(target.key) : undefined;
      if (pending !== undefined) {
        // The restart queue gave up on it: the server could not take it.
        if (code === 'SIDECAR_ERR_UPSTREAM_RESTARTING' || code === 'SIDECAR_ERR_UPSTREAM_EXITED') guards.failed();
        localReply('client', pending, { code, detail }, outcomeOfCode(code));
        return ctx.notifyIfIdle();
      }
      localReply('client', refusedRequest(ctx, 'client-to-server', target, target.line ?? NO_BYTES, PASS), { code, detail }, outcomeOfCode(code));
    } catch (error) {
      faults.frame('client', undefined, error);
    }
  };

  /**
   * A client request the server channel answers itself inside a frame of its own (the gateway's
   * error for a batch member): ended and counted as answerForChannel would, its bytes returned for
   * that frame. It is remembered as a cancelled request is, so its answer, when the frame arrives,
   * passes as a late one (judged by what it answers, not ended twice, not taken for an orphan).
   */
  const encodeForServerChannel = (target: LocalReplyTarget, code: ErrorCode, detail: string): Buffer => {
    const pending = ledger.settle(target.key);
    const answer: LocalAnswer = { code, detail };
    stats.answeredLocally++;
    if (pending === undefined) return localReply('client', refusedRequest(ctx, 'client-to-server', target, target.line ?? NO_BYTES, PASS), answer, outcomeOfCode(code), ENCODE_ONLY);
    if (code === 'SIDECAR_ERR_UPSTREAM_RESTARTING' || code === 'SIDECAR_ERR_UPSTREAM_EXITED') guards.failed();
    const reply = localReply('client', pending, answer, outcomeOfCode(code), ENCODE_ONLY);
    cancelled.remember(pending);
    ctx.notifyIfIdle();
    return reply;
  };

  /**
   * The proxy's own `list_changed` after a policy change, for each kind of list the client has.
   * It takes the route a server notification takes — the one session recovery's `list_changed`
   * takes too: the rules in force judge it (a policy that drops these notifications drops the
   * proxy's as well) and observers record it (reports, transcripts), each inside a fault boundary.
   * It is not counted as a frame from the server: the server sent nothing.
   */
  function policyChanged(): void {
    if (refusal !== undefined || ctx.listed === undefined) return;
    const notifications = ctx.listed.notifications();
    if (notifications.length === 0) return;
    logger.info({ notifications: notifications.map((n) => n.method) }, 'the policy changed: the client is told to list again');
    for (const { line } of notifications) {
      let envelope: EnvelopeResult | undefined;
      try {
        envelope = readEnvelope(line);
        routeServerFrame(envelope, line);
      } catch (error) {
        faults.frame('server', envelope, error);
      }
    }
  }

  client.start({
    onFrame(line, given) {
      stats.framesFromClient++;
      let envelope: EnvelopeResult | undefined = given;
      try {
        envelope ??= readEnvelope(line);
        routeClientFrame(envelope, line);
      } catch (error) {
        faults.frame('client', envelope, error);
      }
    },
    onOversized(line) {
      stats.oversizedFromClient++;
      try {
        oversized.fromClient(line);
      } catch (error) {
        faults.frame('client', undefined, error);
      }
    },
    onEnd: () => events.onClientEnd(),
    onWriteError: (error) => events.onClientGone(error),
    onCongested: () => server.pause(),
    onDrained: () => server.resume(),
    onLocalReply: answerForChannel('client'),
  });

  server.start({
    onFrame(line, given) {
      stats.framesFromServer++;
      let envelope: EnvelopeResult | undefined = given;
      try {
        envelope ??= readEnvelope(line);
        routeServerFrame(envelope, line);
      } catch (error) {
        faults.frame('server', envelope, error);
      }
    },
    onOversized(line) {
      stats.oversizedFromServer++;
      try {
        oversized.fromServer(line);
      } catch (error) {
        faults.frame('server', undefined, error);
      }
    },
    onEnd: () => events.onServerEnd(),
    // A dead child's stdin fails with EPIPE; its exit is handled where the process is watched.
    onWriteError: (error) => logger.debug({ err: error }, 'write to the server failed'),
    onCongested: () => client.pause(),
    onDrained: () => client.resume(),
    // A restarted server: what the old one had is lost; the client may retry it (nothing is replayed).
    onReset: (reason, waiting) => {
      // One crash is one failure for the breaker, however many requests it took down with it.
      if (ledger.size > (waiting?.size ?? 0)) guards.failed();
      failPending('SIDECAR_ERR_UPSTREAM_EXITED', reason, waiting);
    },
    onLocalReply: answerForChannel('server'),
    encodeLocalReply: encodeForServerChannel,
  });

  return {
    stats,
    get pendingCount() {
      return ledger.size;
    },
    refuseNewRequests(code, detail) {
      refusal = { code, detail };
    },
    failPending: (code, detail, outcome) => failPending(code, detail, undefined, outcome),
    busyUntil: () => guards.busyUntil(),
    whenIdle: (timeoutMs) => ctx.whenIdle(timeoutMs),
    flushClient: () => client.drained(),
    policyChanged,
  };
}
