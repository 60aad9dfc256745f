import type { Logger } from 'pino';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import {
  idKeyOfValue, parseFrameBody, readEnvelope, readOversizedId, type BatchMember, type Envelope, type EnvelopeProblem, type OversizedLine,
} from '../framing/index.js';
import { redactCutForLog, redactForLog } from '../logging/index.js';
import { evaluateFrame, type CompiledPolicy, type Decision, type Direction, type FrameAction, type Identity, type Phase } from '../policy/engine/index.js';
import type { FrameChannel } from '../transport/index.js';
import { InFlightLedger, type PendingRequest } from './in-flight-ledger.js';
import type { InvocationOutcome, ObservedFrame, PumpObserver } from './observer.js';
import { countInternalError } from './internal-errors.js';
import { encodeDenial } from './policy-replies.js';

/** Counters a session keeps; logged at the end and (later) exported as metrics. */
export interface PumpStats {
  framesFromClient: number;
  framesFromServer: number;
  invalidFromClient: number;
  invalidFromServer: number;
  oversizedFromClient: number;
  oversizedFromServer: number;
  answeredLocally: number;
  /** Frames whose handling failed inside the proxy (each answered, logged once, and counted). */
  internalErrors: number;
  /** Frames a policy rule denied (enforced) or rewrote (enforced). */
  deniedByPolicy: number;
  rewrittenByPolicy: number;
}

/** Where a rule had its say: what the caller logs and (later) reports. */
export interface DecisionEvent {
  readonly direction: Direction;
  readonly phase: Phase;
  readonly method: string;
  readonly id: string | undefined;
  readonly decisions: readonly Decision[];
}

/** The policy in force; `current` may be swapped (hot reload) between frames. */
export interface PolicyHolder {
  readonly current: CompiledPolicy;
}

export interface PumpEvents {
  /** The client's input ended (stdin EOF). */
  onClientEnd(): void;
  /** The client can no longer be written to. */
  onClientGone(error: Error): void;
  /** The server's stdout ended. */
  onServerEnd(): void;
  /** Policy rules acted (or would have) on a frame. */
  onDecisions?(event: DecisionEvent): void;
}

export interface Pump {
  readonly stats: Readonly<PumpStats>;
  readonly pendingCount: number;
  /** Stops forwarding client requests; each new one is answered with this error. */
  refuseNewRequests(code: ErrorCode, detail: string): void;
  /**
   * Answers every pending request with this error (the server will not). `outcome` is what
   * observers record for them (default upstream_exited): timeout after a drain ran out,
   * client_gone when the client left.
   */
  failPending(code: ErrorCode, detail: string, outcome?: InvocationOutcome): void;
  /** Resolves when no request is pending, or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void>;
  /** Resolves when everything queued for the client has been written. */
  flushClient(): Promise<void>;
}

export interface PumpOptions {
  readonly client: FrameChannel;
  readonly server: FrameChannel;
  readonly logger: Logger;
  readonly events: PumpEvents;
  /** The policy every frame passes; none: frames pass untouched. */
  readonly policy?: PolicyHolder;
  /** Milliseconds, for rate limits and observers; default Date.now. */
  readonly now?: () => number;
  /** Told of every frame and of each request's end (reports, transcripts, metrics). */
  readonly observer?: PumpObserver;
  /** The client's identity (HTTP with auth): rules can match it. */
  readonly identity?: Identity;
}

const FORWARD: FrameAction = Object.freeze({ kind: 'forward' });
const NO_DECISIONS: readonly Decision[] = Object.freeze([]);
const MAX_CANCELLED_REMEMBERED = 1024;
/** Requests awaiting an answer, per direction and session: a peer that never answers cannot grow memory without bound. */
export const MAX_PENDING = 10_000;

type ObservedKind = ObservedFrame['kind'];

const PREVIEW_CHARS = 200;
// A server line quoted in a log: redacted, then shortened (a secret is replaced whole, not cut
// into a piece no detector knows); read only in part, it may end in the piece of one.
function preview(line: Buffer): string {
  const read = Math.min(line.length, PREVIEW_CHARS * 4);
  const raw = line.toString('utf8', 0, read).trimEnd();
  const cut = read < line.length;
  const text = cut ? redactCutForLog(raw) : redactForLog(raw);
  return cut || text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

/** An error as a log line tells it: the stack (which starts with the message), never throwing. */
function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.stack ?? error.message : String(error);
  } catch {
    return 'an error that cannot be described';
  }
}

// Routes frames between the client and the server channels. Frames are forwarded as their
// original bytes; the only frames the pump writes itself are error replies. Every frame is
// read once (readEnvelope validates it whole) and handled inside a fault boundary: a failure
// answers that frame and the session goes on.
export function createPump({ client, server, logger, events, policy, now = Date.now, observer, identity }: PumpOptions): Pump {
  const ledger = new InFlightLedger();
  // The server's own requests (sampling, elicitation, roots) awaiting the client.
  const serverRequests = new InFlightLedger();
  const stats: PumpStats = {
    framesFromClient: 0, framesFromServer: 0, invalidFromClient: 0, invalidFromServer: 0,
    oversizedFromClient: 0, oversizedFromServer: 0, answeredLocally: 0, internalErrors: 0, deniedByPolicy: 0, rewrittenByPolicy: 0,
  };

  // The policy step: a frame no rule can act on costs one flag test and one map lookup. The
  // clock is passed, not read: only a rule that asks (a rate limit) reads it.
  // `decided` keeps the decisions of the last check for an observer, without allocating.
  let decided: readonly Decision[] = NO_DECISIONS;
  let parsedBody: unknown;
  const check = (direction: Direction, phase: Phase, method: string, id: string | undefined, line: Buffer): FrameAction => {
    decided = NO_DECISIONS;
    parsedBody = undefined;
    const current = policy?.current;
    if (current === undefined || current.isEmpty) return FORWARD;
    const { action, decisions, body } = evaluateFrame(current, direction, phase, method, line, now, identity, observer !== undefined);
    decided = decisions;
    parsedBody = body;
    if (decisions.length > 0) events.onDecisions?.({ direction, phase, method, id, decisions });
    if (action.kind === 'deny') stats.deniedByPolicy++;
    else if (action.kind === 'replace') stats.rewrittenByPolicy++;
    return action;
  };

  // Observation (reports, transcripts, metrics): nothing of this runs without an observer.
  const observe = (direction: Direction, phase: Phase, kind: ObservedKind, method: string, id: string | undefined, line: Buffer, action: ObservedFrame['action'], delivered?: Buffer): ObservedFrame => {
    const frame: ObservedFrame = { direction, phase, kind, method, id, line, decisions: decided, action, at: now(), body: parsedBody, delivered };
    decided = NO_DECISIONS;
    parsedBody = undefined;
    return frame;
  };
  const holds = { client: 0, server: 0 };
  const hold = (side: 'client' | 'server'): void => {
    if (holds[side]++ === 0) (side === 'client' ? client : server).pause();
  };
  const release = (side: 'client' | 'server'): void => {
    if (--holds[side] === 0) (side === 'client' ? client : server).resume();
  };
  // An observer that must not lose what it records (a report sink under `block`) stops reading on both sides until it can.
  const endRequest = (pending: PendingRequest, outcome: InvocationOutcome, reply: Buffer | undefined, response: ObservedFrame | undefined): void => {
    if (observer === undefined || pending.observed === undefined) return;
    const waiting = observer.onRequestEnd({ trace: pending.trace, request: pending.observed, outcome, reply, response, at: now() });
    if (waiting === undefined) return;
    hold('client');
    hold('server');
    const resume = (): void => {
      release('client');
      release('server');
    };
    waiting.then(resume, resume);
  };
  /** A request that ends where it starts (denied, refused): observed and ended at once. */
  const observeRefused = (direction: Direction, method: string, id: string, key: string, line: Buffer, outcome: InvocationOutcome, reply: Buffer): void => {
    if (observer === undefined) return;
    const observed = observe(direction, 'request', 'request', method, id, line, 'deny');
    endRequest({ rawId: id, key, method, observed, trace: observer.onFrame(observed) }, outcome, reply, undefined);
  };
  const denialOutcome = (): InvocationOutcome => (decided[decided.length - 1]?.kind === 'rateLimit' ? 'rate_limited' : 'blocked');
  const responseOutcome = (kind: Envelope['kind'], action: FrameAction): InvocationOutcome => {
    if (action.kind === 'deny') return 'blocked';
    return kind === 'error' ? 'upstream_error' : 'forwarded';
  };

  // limits.maxInFlight: the in-flight ledger is the count.
  const overInFlightLimit = (method: string, id: string, key: string, line: Buffer): boolean => {
    const current = policy?.current;
    const limit = current?.document.limits.maxInFlight;
    if (current === undefined || limit === undefined || ledger.size < limit) return false;
    const enforced = current.mode === 'enforce';
    const decision: Decision = { ruleId: 'limits.maxInFlight', kind: 'limits', phase: 'request', effect: 'deny', enforced, reason: 'too_many_in_flight', message: `${limit} requests are already in flight` };
    events.onDecisions?.({ direction: 'client-to-server', phase: 'request', method, id, decisions: [decision] });
    if (!enforced) {
      inFlightWouldDeny = decision;
      return false;
    }
    stats.deniedByPolicy++;
    const reply = encodeDenial(id, decision.ruleId, { effect: 'deny', reason: decision.reason, message: decision.message!, category: 'transient_error' }, method);
    decided = [decision];
    observeRefused('client-to-server', method, id, key, line, 'rate_limited', reply);
    client.send(reply);
    return true;
  };
  // An observe-mode in-flight limit's would-have, recorded with the request's own decisions.
  let inFlightWouldDeny: Decision | undefined;
  let refusal: { code: ErrorCode; detail: string } | undefined;
  const cancelled = new Map<string, PendingRequest>();
  let idleWaiters: Array<() => void> = [];

  /** Every answer the proxy writes to the client itself (errors), counted. */
  const replyToClient = (rawId: string | null, code: ErrorCode, detail: string): Buffer => {
    stats.answeredLocally++;
    const reply = encodeErrorResponse(rawId, code, detail);
    client.send(reply);
    return reply;
  };
  const notifyIfIdle = (): void => {
    if (ledger.size > 0 || idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };

  // MCP: a request the client cancelled gets no response, so the proxy stops waiting for one
  // (else a drain at EOF would wait its full timeout for it). A late response is still forwarded.
  const settleCancelled = (line: Buffer): void => {
    let requestId: unknown;
    try {
      requestId = (parseFrameBody(line) as { params?: { requestId?: unknown } } | null)?.params?.requestId;
    } catch {
      return;
    }
    const key = idKeyOfValue(requestId);
    const entry = key === undefined ? undefined : ledger.settle(key);
    if (entry === undefined) return;
    endRequest(entry, 'cancelled', undefined, undefined);
    notifyIfIdle();
    // Kept, so a late response is still evaluated by what it answers (response rules redact it).
    cancelled.set(entry.key, entry);
    if (cancelled.size > MAX_CANCELLED_REMEMBERED) cancelled.delete(cancelled.keys().next().value!);
  };
  // The request a response answers, and whether it already ended (a late answer to a cancelled one).
  // `settled` keeps it while the response is handled, so a fault there still answers the client.
  let lateAnswer = false;
  let settled: PendingRequest | undefined;
  const settleResponse = (key: string): PendingRequest | undefined => {
    lateAnswer = false;
    const pending = ledger.settle(key);
    if (pending !== undefined) {
      notifyIfIdle();
      settled = pending;
      return pending;
    }
    if (cancelled.size === 0) return undefined;
    const late = cancelled.get(key);
    cancelled.delete(key);
    lateAnswer = late !== undefined;
    return late;
  };
  /** A response that settled `pending` is on its way (or was replaced by `reply`): observe it, end the request. */
  const observeResponse = (direction: Direction, pending: PendingRequest, kind: Envelope['kind'], id: string | undefined, line: Buffer, action: FrameAction, reply: Buffer): void => {
    if (observer === undefined) return;
    const response = observe(direction, 'response', 'response', pending.method, id, line, action.kind, action.kind === 'replace' ? reply : undefined);
    observer.onFrame(response);
    if (!lateAnswer) endRequest(pending, responseOutcome(kind, action), reply, response);
  };
  const policyActive = (): boolean => policy !== undefined && !policy.current.isEmpty;

  /** A failure inside the proxy while handling one frame: logged once, counted, and the frame's request answered. */
  const internalError = (side: 'client' | 'server', envelope: Envelope | EnvelopeProblem | undefined, error: unknown): void => {
    stats.internalErrors++;
    countInternalError();
    // `detail` is redacted like every field that may quote a peer (an error's message can).
    logger.error({ detail: describeError(error), side, method: envelope?.method }, 'internal error while handling a frame; it was answered with an error and the session goes on');
    try {
      answerAfterFault(side, envelope);
    } catch (again) {
      // Even the answer failed (a broken channel): logged; the session's own end handles the rest.
      logger.error({ detail: describeError(again), side }, 'internal error while answering a frame that failed');
    }
  };
  const answerAfterFault = (side: 'client' | 'server', envelope: Envelope | EnvelopeProblem | undefined): void => {
    const detail = 'see the proxy\'s log';
    if (side === 'client') {
      if (envelope?.kind === 'request' && envelope.key !== undefined) {
        // Not forwarded (or its answer will find nothing in flight): the client hears once.
        const pending = ledger.settle(envelope.key);
        const reply = replyToClient(envelope.id!, 'SIDECAR_ERR_INTERNAL', detail);
        if (pending !== undefined) {
          endRequest(pending, 'upstream_error', reply, undefined); // its report, as for a fault on the response side
          notifyIfIdle();
        }
      }
      return;
    }
    if (envelope?.kind === 'request' && envelope.id !== undefined) {
      server.send(encodeErrorResponse(envelope.id, 'SIDECAR_ERR_INTERNAL', detail));
      return;
    }
    // A response: the request it answered must not hang.
    const pending = settled ?? (envelope?.key === undefined ? undefined : ledger.settle(envelope.key));
    if (pending === undefined) return;
    const reply = replyToClient(pending.rawId, 'SIDECAR_ERR_INTERNAL', `${detail}; request ${pending.method}`);
    endRequest(pending, 'upstream_error', reply, undefined);
    notifyIfIdle();
  };

  /** A request from the client: refused, denied, or forwarded and tracked. */
  const passClientRequest = (envelope: Envelope, line: Buffer): void => {
    const id = envelope.id!, key = envelope.key!, method = envelope.method!;
    if (refusal) {
      const reply = replyToClient(id, refusal.code, refusal.detail);
      return observeRefused('client-to-server', method, id, key, line, 'upstream_exited', reply);
    }
    // One id, one request: a second one in flight would take the first one's answer.
    if (ledger.has(key)) {
      stats.invalidFromClient++;
      logger.warn({ id, method }, 'refused a request whose id is already in flight');
      const reply = replyToClient(id, 'SIDECAR_ERR_ID_IN_FLIGHT', `id ${id} (request ${method})`);
      return observeRefused('client-to-server', method, id, key, line, 'blocked', reply);
    }
    if (ledger.size >= MAX_PENDING) {
      const reply = replyToClient(id, 'SIDECAR_ERR_TOO_MANY_PENDING', `${MAX_PENDING} requests to the server are unanswered`);
      return observeRefused('client-to-server', method, id, key, line, 'rate_limited', reply);
    }
    if (overInFlightLimit(method, id, key, line)) return;
    const action = check('client-to-server', 'request', method, id, line);
    if (inFlightWouldDeny !== undefined) {
      decided = [inFlightWouldDeny, ...decided];
      inFlightWouldDeny = undefined;
    }
    if (action.kind === 'deny') {
      const reply = encodeDenial(id, action.ruleId, action.verdict, method);
      observeRefused('client-to-server', method, id, key, line, denialOutcome(), reply);
      return client.send(reply);
    }
    if (observer === undefined) ledger.add(id, key, method);
    else {
      const observed = observe('client-to-server', 'request', 'request', method, id, line, action.kind);
      ledger.add(id, key, method, observed, observer.onFrame(observed));
    }
    server.send(action.kind === 'replace' ? action.line : line, envelope);
  };

  /** A frame from the client that is not one reading of a JSON-RPC message: answered, never forwarded. */
  const refuseClientFrame = (problem: EnvelopeProblem, line: Buffer): void => {
    stats.invalidFromClient++;
    const code: ErrorCode = problem.problem === 'parse' ? 'SIDECAR_ERR_PARSE' : problem.problem === 'ambiguous' ? 'SIDECAR_ERR_AMBIGUOUS_FRAME' : 'SIDECAR_ERR_INVALID_REQUEST';
    logger.warn({ problem: problem.problem, detail: problem.detail, bytes: line.length }, 'invalid frame from the client answered with an error');
    if (problem.requests !== undefined && problem.requests.length > 0) {
      // A batch: every request in it that could be read gets its own error (JSON-RPC answers a batch with a batch).
      const replies = problem.requests.map(({ id }) => encodeErrorResponse(id, code, problem.detail).toString('utf8').trimEnd());
      stats.answeredLocally++;
      client.send(Buffer.from(`[${replies.join(',')}]\n`));
      return;
    }
    // Echo the id when it was read, unambiguously, before the fault (else null, JSON-RPC 2.0 §5.1).
    replyToClient(problem.key !== undefined ? problem.id! : null, code, problem.detail);
  };

  const handleClientFrame = (line: Buffer): void => {
    const envelope = readEnvelope(line);
    try {
      switch (envelope.kind) {
        case 'request':
          return passClientRequest(envelope, line);
        case 'notification': {
          const action = check('client-to-server', 'request', envelope.method!, undefined, line);
          if (observer !== undefined) observer.onFrame(observe('client-to-server', 'request', 'notification', envelope.method!, undefined, line, action.kind));
          if (action.kind === 'deny') return; // nobody to answer: dropped, and recorded
          if (envelope.method === 'notifications/cancelled') settleCancelled(line);
          return server.send(action.kind === 'replace' ? action.line : line, envelope);
        }
        case 'response':
        case 'error': {
          // The client's answer to a server→client request.
          const pending = envelope.key === undefined ? undefined : serverRequests.settle(envelope.key);
          if (pending !== undefined && observer !== undefined) observeResponse('client-to-server', pending, envelope.kind, envelope.id, line, FORWARD, line);
          return server.send(line, envelope);
        }
        case 'batch':
          if (refusal) return void replyToClient(null, refusal.code, refusal.detail);
          return passClientBatch(line, envelope);
        case 'invalid':
          if (envelope.problem === 'blank') return; // whitespace only: skipped like an empty line
          return refuseClientFrame(envelope, line);
      }
    } catch (error) {
      internalError('client', envelope, error);
    }
  };

  client.start({
    onFrame(line) {
      stats.framesFromClient++;
      try {
        handleClientFrame(line);
      } catch (error) {
        internalError('client', undefined, error);
      }
    },
    onOversized(line) {
      stats.oversizedFromClient++;
      try {
        handleOversizedFromClient(line);
      } catch (error) {
        internalError('client', undefined, error);
      }
    },
    onEnd: () => events.onClientEnd(),
    onWriteError: (error) => events.onClientGone(error),
    onCongested: () => server.pause(),
    onDrained: () => server.resume(),
  });

  /** A server frame that is not one reading of a JSON-RPC message: dropped; what it may have answered fails now. */
  const dropServerFrame = (problem: EnvelopeProblem, line: Buffer): void => {
    stats.invalidFromServer++;
    logger.warn({ problem: problem.problem, detail: problem.detail, line: preview(line) }, 'dropped a line from the server that is not one reading of a JSON-RPC frame');
    const code: ErrorCode = problem.problem === 'ambiguous' ? 'SIDECAR_ERR_AMBIGUOUS_FRAME' : problem.problem === 'parse' ? 'SIDECAR_ERR_PARSE' : 'SIDECAR_ERR_INVALID_REQUEST';
    // The server's requests in it: told (it may be waiting for their answers).
    for (const request of problem.requests ?? []) server.send(encodeErrorResponse(request.id, code, problem.detail));
    // The responses in it: the requests they answer fail at once instead of hanging.
    for (const key of problem.responses ?? []) failUnreadable(key, problem.detail);
    if (problem.key === undefined) return;
    // A lone frame whose id was read: a response to a client request fails that request; anything
    // else is taken as the server's own request (perhaps spelled `Method`) and answered.
    if (!failUnreadable(problem.key, problem.detail)) server.send(encodeErrorResponse(problem.id!, code, problem.detail));
  };
  /** Fails the client request this id key answers with -32006; false when none is pending. */
  const failUnreadable = (key: string, detail: string): boolean => {
    const pending = ledger.settle(key);
    if (pending === undefined) return false;
    const reply = replyToClient(pending.rawId, 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME', `${detail}; request ${pending.method}`);
    endRequest(pending, 'upstream_error', reply, undefined);
    notifyIfIdle();
    return true;
  };

  const handleServerFrame = (line: Buffer): void => {
    const envelope = readEnvelope(line);
    settled = undefined;
    try {
      switch (envelope.kind) {
        case 'response':
        case 'error': {
          const pending = envelope.key === undefined ? undefined : settleResponse(envelope.key);
          if (pending === undefined) {
            // Under a policy, what a response answers decides which rules apply: unknown, it cannot pass.
            if (!policyActive()) return client.send(line);
            logger.warn({ id: envelope.id }, 'dropped a response that answers no request in flight: the policy cannot tell what it answers');
            return;
          }
          const action = check('server-to-client', 'response', pending.method, envelope.id, line);
          const reply = action.kind === 'forward' ? line : action.kind === 'replace' ? action.line : encodeDenial(pending.rawId, action.ruleId, action.verdict, pending.method);
          observeResponse('server-to-client', pending, envelope.kind, envelope.id, line, action, reply);
          return client.send(reply);
        }
        case 'request':
        case 'notification':
          return passServerMessage(envelope, line);
        case 'batch':
          return passServerBatch(line, envelope);
        case 'invalid':
          if (envelope.problem === 'blank') return;
          return dropServerFrame(envelope, line);
      }
    } catch (error) {
      internalError('server', envelope, error);
    } finally {
      settled = undefined;
    }
  };

  /**
   * A request or notification from the server (sampling, elicitation, roots, logging): it passes
   * the policy like the client's. Returns the bytes to deliver, or undefined when it is not delivered.
   */
  function serverMessage(envelope: Envelope | BatchMember, line: Buffer): Buffer | undefined {
    const method = envelope.method!;
    if (envelope.kind === 'request' && serverRequests.has(envelope.key!)) {
      logger.warn({ id: envelope.id, method }, 'refused a request from the server whose id is already in flight');
      server.send(encodeErrorResponse(envelope.id!, 'SIDECAR_ERR_ID_IN_FLIGHT', `id ${envelope.id} (request ${method})`));
      return undefined;
    }
    if (envelope.kind === 'request' && serverRequests.size >= MAX_PENDING) {
      logger.warn({ id: envelope.id, method, pending: MAX_PENDING }, 'refused a request from the server: too many of its requests are unanswered by the client');
      server.send(encodeErrorResponse(envelope.id!, 'SIDECAR_ERR_TOO_MANY_PENDING', `${MAX_PENDING} requests to the client are unanswered`));
      return undefined;
    }
    const action = check('server-to-client', 'request', method, envelope.id, line);
    if (action.kind === 'deny') {
      // A denied server request is answered to the server and never reaches the client.
      if (envelope.kind === 'request') {
        const reply = encodeDenial(envelope.id!, action.ruleId, action.verdict, method);
        observeRefused('server-to-client', method, envelope.id!, envelope.key!, line, denialOutcome(), reply);
        server.send(reply);
      } else if (observer !== undefined) {
        observer.onFrame(observe('server-to-client', 'request', 'notification', method, undefined, line, 'deny'));
      }
      return undefined;
    }
    if (observer !== undefined) {
      const observed = observe('server-to-client', 'request', envelope.kind === 'request' ? 'request' : 'notification', method, envelope.id, line, action.kind, action.kind === 'replace' ? action.line : undefined);
      const trace = observer.onFrame(observed);
      if (envelope.kind === 'request') serverRequests.add(envelope.id!, envelope.key!, method, observed, trace);
    } else if (envelope.kind === 'request') {
      serverRequests.add(envelope.id!, envelope.key!, method);
    }
    return action.kind === 'replace' ? action.line : line;
  }

  function passServerMessage(envelope: Envelope, line: Buffer): void {
    const delivered = serverMessage(envelope, line);
    if (delivered !== undefined) client.send(delivered);
  }

  server.start({
    onFrame(line) {
      stats.framesFromServer++;
      try {
        handleServerFrame(line);
      } catch (error) {
        internalError('server', undefined, error);
      }
    },
    onOversized(line) {
      stats.oversizedFromServer++;
      try {
        handleOversizedFromServer(line);
      } catch (error) {
        internalError('server', undefined, error);
      }
    },
    onEnd: () => events.onServerEnd(),
    // A dead child's stdin fails with EPIPE; its exit is handled where the process is watched.
    onWriteError: (error) => logger.debug({ err: error }, 'write to the server failed'),
    onCongested: () => client.pause(),
    onDrained: () => client.resume(),
    // A restarted server: what the old one had is lost; the client may retry it (nothing is replayed).
    onReset: (reason, waiting) => failPending('SIDECAR_ERR_UPSTREAM_EXITED', reason, waiting),
  });

  function failPending(code: ErrorCode, detail: string, spared?: ReadonlySet<string>, outcome: InvocationOutcome = 'upstream_exited'): void {
    for (const pending of ledger.drain(spared)) {
      const reply = replyToClient(pending.rawId, code, `${detail}; request ${pending.method}`);
      endRequest(pending, outcome, reply, undefined);
    }
    // The server's requests to the client: the server that asked is gone (or the session is).
    for (const pending of serverRequests.drain()) endRequest(pending, outcome, undefined, undefined);
    notifyIfIdle();
  }

  // A client batch (2025-03-26): every member passes what a lone frame passes. One refused
  // member refuses the whole batch (each request in it answered); else the batch is forwarded
  // as its original bytes and each request tracked (and observed) as a lone one would be.
  function passClientBatch(line: Buffer, envelope: Envelope): void {
    const members = envelope.members!;
    if (refuseBatchByIds(members) || refuseBatchByPolicy(members)) return;
    for (const member of members) {
      if (member.kind === 'request') {
        if (observer === undefined) ledger.add(member.id!, member.key!, member.method!);
        else {
          decided = NO_DECISIONS;
          const observed = observe('client-to-server', 'request', 'request', member.method!, member.id, member.bytes, 'forward');
          ledger.add(member.id!, member.key!, member.method!, observed, observer.onFrame(observed));
        }
      } else if (member.kind === 'notification') {
        if (observer !== undefined) observer.onFrame(observe('client-to-server', 'request', 'notification', member.method!, undefined, member.bytes, 'forward'));
        if (member.method === 'notifications/cancelled') settleCancelled(member.bytes);
      } else if (member.key !== undefined) {
        const pending = serverRequests.settle(member.key);
        if (pending !== undefined && observer !== undefined) observeResponse('client-to-server', pending, member.kind, member.id, member.bytes, FORWARD, member.bytes);
      }
    }
    server.send(line, envelope);
  }

  /** Answers each request of a refused batch (a batch of errors); the refused member's reply is `own`. */
  function answerBatch(members: readonly BatchMember[], refused: number, own: (member: BatchMember) => Buffer, other: (member: BatchMember) => Buffer): void {
    const replies: string[] = [];
    for (const [index, member] of members.entries()) {
      if (member.kind !== 'request') continue;
      const reply = index === refused ? own(member) : other(member);
      replies.push(reply.toString('utf8').trimEnd());
    }
    stats.answeredLocally++;
    if (replies.length > 0) client.send(Buffer.from(`[${replies.join(',')}]\n`));
  }

  // A batch whose request ids clash with each other or with a request in flight is refused whole.
  function refuseBatchByIds(members: readonly BatchMember[]): boolean {
    // Each refused request is observed (its report) like a lone one refused for the same reason.
    const refuse = (m: BatchMember, code: ErrorCode, detail: string, outcome: InvocationOutcome): Buffer => {
      const reply = encodeErrorResponse(m.id!, code, detail);
      decided = NO_DECISIONS;
      observeRefused('client-to-server', m.method!, m.id!, m.key!, m.bytes, outcome, reply);
      return reply;
    };
    const requests = members.filter((m) => m.kind === 'request').length;
    if (requests > 0 && ledger.size + requests > MAX_PENDING) {
      const tooMany = (m: BatchMember): Buffer => refuse(m, 'SIDECAR_ERR_TOO_MANY_PENDING', `${MAX_PENDING} requests to the server would be unanswered`, 'rate_limited');
      answerBatch(members, -1, tooMany, tooMany);
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
      answerBatch(members, index,
        (m) => refuse(m, 'SIDECAR_ERR_ID_IN_FLIGHT', `id ${m.id} (request ${m.method})`, 'blocked'),
        (m) => refuse(m, 'SIDECAR_ERR_ID_IN_FLIGHT', `another request in the batch reuses an id in flight (${member.id})`, 'blocked'));
      return true;
    }
    return false;
  }

  // A batch passes only whole: if a rule denies any member, every request in it is answered
  // with an error (the denied one with its reason) and nothing is forwarded.
  function refuseBatchByPolicy(members: readonly BatchMember[]): boolean {
    if (!policyActive()) return false;
    let denied = -1;
    let denial: Extract<FrameAction, { kind: 'deny' }> | undefined;
    let denialDecisions: readonly Decision[] = NO_DECISIONS;
    for (const [index, member] of members.entries()) {
      if (member.kind !== 'request' && member.kind !== 'notification') continue;
      const action = check('client-to-server', 'request', member.method!, member.id, member.bytes);
      if (action.kind === 'deny') {
        denied = index;
        denial = action;
        denialDecisions = decided;
        break;
      }
      // A rewrite cannot apply inside a batch forwarded as sent: refused rather than passed unrewritten.
      if (action.kind === 'replace') {
        denied = index;
        denial = { kind: 'deny', ruleId: decided[decided.length - 1]?.ruleId ?? 'batch', verdict: { effect: 'deny', reason: 'batch_rewrite', message: 'a rule rewrites this request, which it cannot do inside a batch: send it alone', category: 'user_error' } };
        denialDecisions = decided;
        break;
      }
    }
    if (denial === undefined) return false;
    const { ruleId, verdict } = denial;
    const otherVerdict = { effect: 'deny' as const, reason: 'batch_refused', message: `another request in the batch was denied by rule ${ruleId}`, category: 'forbidden' as const };
    answerBatch(members, denied,
      (m) => {
        const reply = encodeDenial(m.id!, ruleId, verdict, m.method!);
        decided = denialDecisions;
        observeRefused('client-to-server', m.method!, m.id!, m.key!, m.bytes, denialOutcome(), reply);
        return reply;
      },
      (m) => {
        const reply = encodeDenial(m.id!, ruleId, otherVerdict, m.method!);
        decided = NO_DECISIONS;
        observeRefused('client-to-server', m.method!, m.id!, m.key!, m.bytes, 'blocked', reply);
        return reply;
      });
    return true;
  }

  // A batch from the server (2025-03-26): each member passes what it would alone — responses
  // the rules of what they answer, requests and notifications the request rules. Forwarded as
  // its original bytes unless a member changed; then as the members that remain.
  function passServerBatch(line: Buffer, envelope: Envelope): void {
    let changed = false;
    const delivered: Buffer[] = [];
    for (const member of envelope.members!) {
      if (member.kind === 'request' || member.kind === 'notification') {
        const bytes = serverMessage(member, member.bytes);
        if (bytes !== member.bytes) changed = true;
        if (bytes !== undefined) delivered.push(bytes);
        continue;
      }
      const pending = member.key === undefined ? undefined : settleResponse(member.key);
      if (pending === undefined) {
        // Answers nothing in flight: under a policy it is dropped, as a lone one would be.
        if (policyActive()) changed = true;
        else delivered.push(member.bytes);
        continue;
      }
      const action = check('server-to-client', 'response', pending.method, member.id, member.bytes);
      const reply = action.kind === 'forward' ? member.bytes : action.kind === 'replace' ? action.line : encodeDenial(pending.rawId, action.ruleId, action.verdict, pending.method);
      observeResponse('server-to-client', pending, member.kind, member.id, member.bytes, action, reply);
      if (action.kind !== 'forward') changed = true;
      delivered.push(reply);
    }
    settled = undefined;
    notifyIfIdle();
    if (!changed) return client.send(line);
    if (delivered.length === 0) return;
    client.send(Buffer.from(`[${delivered.map((bytes) => bytes.toString('utf8').trimEnd()).join(',')}]\n`));
  }

  function handleOversizedFromClient(line: OversizedLine): void {
    const { id, method } = readOversizedId(line);
    const detail = `${line.bytes} bytes`;
    if (id !== undefined && method !== undefined) {
      logger.warn({ bytes: line.bytes, id, method }, 'request over the frame limit answered with an error');
      replyToClient(id, 'SIDECAR_ERR_FRAME_TOO_LARGE', detail);
      return;
    }
    if (id !== undefined) {
      // The client's answer to a server→client request: tell the server, which is waiting for it.
      logger.warn({ bytes: line.bytes, id }, 'response from the client over the frame limit; the server gets an error instead');
      return server.send(encodeErrorResponse(id, 'SIDECAR_ERR_FRAME_TOO_LARGE', detail));
    }
    logger.warn({ bytes: line.bytes, method }, 'frame from the client over the frame limit dropped (no id to answer)');
  }

  function handleOversizedFromServer(line: OversizedLine): void {
    const { id, key, method } = readOversizedId(line);
    const detail = `${line.bytes} bytes`;
    if (key !== undefined && method === undefined) {
      const pending = ledger.settle(key);
      if (pending !== undefined) {
        logger.warn({ bytes: line.bytes, id, method: pending.method }, 'response from the server over the frame limit; the client gets an error instead');
        const reply = replyToClient(pending.rawId, 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', detail);
        endRequest(pending, 'upstream_error', reply, undefined);
        return notifyIfIdle();
      }
    } else if (id !== undefined) {
      logger.warn({ bytes: line.bytes, id, method }, 'request from the server over the frame limit answered with an error');
      return server.send(encodeErrorResponse(id, 'SIDECAR_ERR_FRAME_TOO_LARGE', detail));
    }
    logger.warn({ bytes: line.bytes, id, method }, 'frame from the server over the frame limit dropped');
  }

  return {
    stats,
    get pendingCount() {
      return ledger.size;
    },
    refuseNewRequests(code, detail) {
      refusal = { code, detail };
    },
    failPending: (code, detail, outcome) => failPending(code, detail, undefined, outcome),
    whenIdle(timeoutMs) {
      if (ledger.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    flushClient: () => client.drained(),
  };
}
