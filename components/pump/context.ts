import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock/index.js';
import type { CircuitBreaker } from '../circuit-breaker/index.js';
import type { ErrorCode } from '../errors/index.js';
import {
  evaluateFrame, PASS, type ServiceResolver, type CompiledPolicy, type Decision, type Direction, type Evaluation, type FrameContext, type Identity, type Phase,
} from '../policy/index.js';
import type { FrameChannel } from '../transport/index.js';
import { InFlightLedger } from './in-flight-ledger.js';
import { ListedKinds } from './listed-kinds.js';
import { countInternalError } from './internal-errors.js';
import type { InvocationOutcome, ObservedFrame, PumpObserver } from './observer.js';
import type { PumpRequest, RequestEnds } from './request.js';

/** Counters a session keeps; logged at the end and (later) exported as metrics. */
export interface PumpStats {
  framesFromClient: number;
  framesFromServer: number;
  invalidFromClient: number;
  invalidFromServer: number;
  oversizedFromClient: number;
  oversizedFromServer: number;
  /** Answers the proxy wrote itself, to either side (a refused batch's answer counts once). */
  answeredLocally: number;
  /** Frames whose handling failed inside the proxy (each answered, logged once, and counted). */
  internalErrors: number;
  /** Frames a policy rule denied (enforced) or rewrote (enforced). */
  deniedByPolicy: number;
  rewrittenByPolicy: number;
  /** Client requests answered with SIDECAR_ERR_REQUEST_TIMEOUT (their deadline passed). */
  timedOut: number;
  /** Answers that came after their request's deadline: dropped. */
  lateAnswersDropped: number;
  /** Client requests refused while the circuit breaker was open (or its probe was out). */
  refusedByBreaker: number;
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
  /**
   * The clock time by which every request now in flight has passed its deadline (so the session
   * is idle at the latest); undefined when one has no deadline. Read when the HTTP session cap is
   * hit, never per frame.
   */
  busyUntil(): number | undefined;
  /** Resolves when no request is pending, or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void>;
  /** Resolves when everything queued for the client has been written. */
  flushClient(): Promise<void>;
  /**
   * Another policy is in force (a reload): the client is sent `notifications/<kind>/list_changed`
   * for each kind of list (tools, prompts, resources) it has received in this session, since
   * what the policy hides or pins may now differ. Nothing without a policy, or while stopping.
   */
  policyChanged(): void;
}

export interface PumpOptions {
  readonly client: FrameChannel;
  readonly server: FrameChannel;
  readonly logger: Logger;
  readonly events: PumpEvents;
  /** The policy every frame passes; none: frames pass untouched. */
  readonly policy?: PolicyHolder;
  /** Time for rate limits, observers and whenIdle's timeout; default the system clock. */
  readonly clock?: Clock;
  /** Told of every frame and of each request's end (reports, transcripts, metrics). */
  readonly observer?: PumpObserver;
  /** The client's identity (HTTP with auth): rules can match it. */
  readonly identity?: Identity;
  /**
   * --request-timeout-ms: a client request unanswered this long is answered with
   * SIDECAR_ERR_REQUEST_TIMEOUT, cancelled at the server, and its late answer dropped. 0 or absent: no deadline.
   */
  readonly requestTimeoutMs?: number;
  /** --request-timeout-resets-on-progress: the server's progress for a request restarts its deadline. */
  readonly requestTimeoutResetsOnProgress?: boolean;
  /** The upstream's circuit breaker (may be shared by every session of one server command). */
  readonly breaker?: CircuitBreaker;
  /** The governed server's name for rules (FrameContext.server, CEL `server`): its executable's basename; in gateway mode, what tells each frame's service. */
  readonly serverName?: string | ServiceResolver;
}

/** Requests awaiting an answer, per direction and session: a peer that never answers cannot grow memory without bound. */
export const MAX_PENDING = 10_000;

export type Side = 'client' | 'server';

/** What every part of the pump shares: the channels, the ledgers, the counters, the policy step and observation. */
export interface PumpContext {
  readonly client: FrameChannel;
  readonly server: FrameChannel;
  readonly logger: Logger;
  readonly stats: PumpStats;
  readonly observer: PumpObserver | undefined;
  readonly clock: Clock;
  /** The client's requests to the server awaiting an answer. */
  readonly ledger: InFlightLedger;
  /** The server's own requests (sampling, elicitation, roots) awaiting the client. */
  readonly serverRequests: InFlightLedger;
  /** The kinds of list the client has received (only under a policy, which alone can change what they show). */
  readonly listed: ListedKinds | undefined;
  readonly ends: RequestEnds;
  policyActive(): boolean;
  /**
   * The policy step: a frame no rule can act on costs one flag test and one map lookup. Its
   * result travels with the frame (into observe, the outcome, the parsed body's reuse).
   */
  /** `depth`: the envelope's, when the frame's own envelope was read (not a batch member's). */
  /** `tool`: for a response to `tools/call`, the tool its request named (PumpRequest.tool). */
  evaluate(direction: Direction, phase: Phase, method: string, id: string | undefined, line: Buffer, inFlight: number, depth: number | undefined, tool?: string): Evaluation;
  /** Whether a response rule needs each `tools/call`'s tool name (read then, at admission). */
  responsesNeedTool(): boolean;
  /** The frame as observers get it (only called with an observer). */
  observe(direction: Direction, phase: Phase, kind: ObservedFrame['kind'], method: string, id: string | undefined, line: Buffer, evaluation: Evaluation, action: ObservedFrame['action'], delivered?: Buffer): ObservedFrame;
  /** Wakes whenIdle's waiters once the ledger is empty. */
  notifyIfIdle(): void;
  whenIdle(timeoutMs: number): Promise<void>;
  /** A bug found and survived (e.g. a request ended twice): counted like a fault, logged. */
  internalFault(message: string, fields: Record<string, unknown>): void;
  /** Told when a client request ends, however it ends (deadlines, the breaker's probe); unset: nothing to tell. */
  onClientRequestEnd: ((request: PumpRequest) => void) | undefined;
}

/** How a denied request ended: a rate limit or the in-flight limit is `rate_limited`, any other rule `blocked`. */
export function denialOutcome(evaluation: Evaluation): InvocationOutcome {
  const deciding = evaluation.decisions[evaluation.decisions.length - 1];
  return deciding !== undefined && (deciding.kind === 'rateLimit' || deciding.reason === 'too_many_in_flight') ? 'rate_limited' : 'blocked';
}

export function createPumpContext({ client, server, logger, events, policy, clock: given, observer, identity, serverName }: PumpOptions): PumpContext {
  const clock: Clock = given ?? systemClock;
  const readNow = (): number => clock.now();
  const ledger = new InFlightLedger();
  const stats: PumpStats = {
    framesFromClient: 0, framesFromServer: 0, invalidFromClient: 0, invalidFromServer: 0,
    oversizedFromClient: 0, oversizedFromServer: 0, answeredLocally: 0, internalErrors: 0, deniedByPolicy: 0, rewrittenByPolicy: 0,
    timedOut: 0, lateAnswersDropped: 0, refusedByBreaker: 0,
  };
  const keepBody = observer !== undefined;
  // Gateway mode with an observer: each observed request's service (ObservedFrame.service). With
  // --proxy, or without an observer, undefined: observe() then builds the frame as before.
  const observedServices = observer !== undefined && typeof serverName === 'object' ? serverName : undefined;

  const holds = { client: 0, server: 0 };
  const hold = (side: Side): void => {
    if (holds[side]++ === 0) (side === 'client' ? client : server).pause();
  };
  const release = (side: Side): void => {
    if (--holds[side] === 0) (side === 'client' ? client : server).resume();
  };
  const resumeBoth = (): void => {
    release('client');
    release('server');
  };

  const internalFault = (message: string, fields: Record<string, unknown>): void => {
    stats.internalErrors++;
    countInternalError();
    logger.error(fields, message);
  };
  let endedTwiceLogged = false;
  const ends: RequestEnds = {
    // An observer that must not lose what it records (a report sink under `block`) stops reading on both sides until it can.
    ended(request: PumpRequest, outcome, reply, response) {
      if (context.onClientRequestEnd !== undefined && request.direction === 'client-to-server') context.onClientRequestEnd(request);
      if (observer === undefined || request.observed === undefined) return;
      // correlationId(s) present (undefined) from the start: the gateway's observer sets them without changing the object's shape.
      const waiting = observer.onRequestEnd({ trace: request.trace, request: request.observed, outcome, reply, response, at: clock.now(), correlationId: undefined, correlationIds: undefined });
      if (waiting === undefined) return;
      hold('client');
      hold('server');
      waiting.then(resumeBoth, resumeBoth);
    },
    // A bug, but one the peers must not pay for: throwing here would run the frame's fault
    // boundary, which answers the request a second time. Counted every time, logged once a session.
    endedTwice(request, outcome) {
      stats.internalErrors++;
      countInternalError();
      if (endedTwiceLogged) return;
      endedTwiceLogged = true;
      logger.error({ method: request.method, id: request.rawId, outcome }, 'internal error: a request was ended twice; the second end was ignored');
    },
  };

  // This session, as rules that keep per-session state know it (FrameContext.session).
  const session = {};
  // The protocol version this session negotiated (FrameContext.era): read from the server's
  // initialize result, once a session, so no frame pays for it.
  let era: string | undefined;
  let idleWaiters: Array<() => void> = [];
  const notifyIfIdle = (): void => {
    if (ledger.size > 0 || idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };

  const context: PumpContext = {
    client, server, logger, stats, observer, clock, ledger, serverRequests: new InFlightLedger(), ends, notifyIfIdle, internalFault, onClientRequestEnd: undefined,
    listed: policy === undefined ? undefined : new ListedKinds(),
    policyActive: () => policy !== undefined && !policy.current.isEmpty,
    responsesNeedTool: () => policy !== undefined && policy.current.responsesNeedTool,
    evaluate(direction, phase, method, id, line, inFlight, depth, tool) {
      const current = policy?.current;
      if (current === undefined || current.isEmpty) return PASS;
      if (phase === 'response' && method === 'initialize' && direction === 'server-to-client') era = negotiatedVersion(line) ?? era;
      // The clock is passed, not read: only a rule that asks (a rate limit) reads it.
      const evaluation = evaluateFrame(current, direction, phase, method, line, readNow, identity, keepBody, inFlight, depth, session, tool, serverName, era);
      if (evaluation.decisions.length > 0) events.onDecisions?.({ direction, phase, method, id, decisions: evaluation.decisions });
      if (evaluation.action.kind === 'deny') stats.deniedByPolicy++;
      else if (evaluation.action.kind === 'replace') stats.rewrittenByPolicy++;
      return evaluation;
    },
    observe(direction, phase, kind, method, id, line, evaluation, action, delivered) {
      if (observedServices === undefined || phase !== 'request') {
        return { direction, phase, kind, method, id, line, decisions: evaluation.decisions, action, at: clock.now(), body: evaluation.body, delivered, pin: evaluation.pin };
      }
      const route = new ObservedRoute(direction, phase, method, line, evaluation, clock);
      const service = serviceOf(observedServices, route);
      // The body parsed to find the service is the frame as received: the report reuses it rather than parse again.
      const body = evaluation.body ?? route.receivedBody();
      return { direction, phase, kind, method, id, line, decisions: evaluation.decisions, action, at: clock.now(), body, delivered, pin: evaluation.pin, service };
    },
    whenIdle(timeoutMs) {
      if (ledger.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = clock.setTimeout(resolve, timeoutMs);
        idleWaiters.push(() => {
          clock.clearTimeout(timer);
          resolve();
        });
      });
    },
  };
  return context;
}

/**
 * The frame a service resolver reads to tell an observed request's service: the bytes the gateway
 * routes (the rewrite, when an enforced rule rewrote the frame, else the frame as received),
 * parsed once, on first read, and only if the resolver reads the body (a call naming its target).
 */
class ObservedRoute implements FrameContext {
  readonly line: Buffer;
  #body: unknown;
  #parsed: boolean;
  readonly #forwardedIsReceived: boolean;

  constructor(readonly direction: Direction, readonly phase: Phase, readonly method: string, received: Buffer, evaluation: Evaluation, private readonly clock: Clock) {
    const action = evaluation.action;
    this.#forwardedIsReceived = action.kind !== 'replace';
    this.line = action.kind === 'replace' ? action.line : received;
    this.#body = evaluation.body;
    this.#parsed = evaluation.body !== undefined && this.#forwardedIsReceived;
  }

  get now(): number {
    return this.clock.now();
  }

  body(): unknown {
    if (!this.#parsed) {
      this.#body = JSON.parse(this.line.toString('utf8'));
      this.#parsed = true;
    }
    return this.#body;
  }

  /** The body parsed here, when it is the frame as received; else undefined. */
  receivedBody(): unknown {
    return this.#parsed && this.#forwardedIsReceived ? this.#body : undefined;
  }
}

/** ObservedFrame.service: the resolver's service, or '' for a frame of no one service, or one whose service its bytes do not tell. */
function serviceOf(resolver: ServiceResolver, route: ObservedRoute): string {
  try {
    return resolver.serviceOf(route) ?? '';
  } catch {
    return ''; // the envelope reader already refused what JSON.parse cannot read; kept defensive
  }
}

/** `result.protocolVersion` of an initialize response (an error, or none: undefined). Parsed once a session. */
function negotiatedVersion(line: Buffer): string | undefined {
  try {
    const version = (JSON.parse(line.toString('utf8')) as { result?: { protocolVersion?: unknown } } | null)?.result?.protocolVersion;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined; // the envelope reader refused what JSON.parse cannot read; kept defensive
  }
}
