import type { Logger } from 'pino';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import { idKey, parseFrameBody, readEnvelope, readOversizedId, type Envelope, type EnvelopeResult, type OversizedLine } from '../framing/index.js';
import { evaluateFrame, type CompiledPolicy, type Decision, type Direction, type FrameAction, type Identity, type Phase } from '../middleware-engine/index.js';
import type { FrameChannel } from '../transport/index.js';
import { InFlightLedger, type PendingRequest } from './in-flight-ledger.js';
import type { InvocationOutcome, ObservedFrame, PumpObserver } from './observer.js';
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

type ObservedKind = ObservedFrame['kind'];

const PREVIEW_CHARS = 200;
function preview(line: Buffer): string {
  const text = line.toString('utf8', 0, Math.min(line.length, PREVIEW_CHARS * 4)).trimEnd();
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

// Routes frames between the client and the server channels. Frames are forwarded as their
// original bytes; the only frames the pump writes itself are error replies.
export function createPump({ client, server, logger, events, policy, now = Date.now, observer, identity }: PumpOptions): Pump {
  const ledger = new InFlightLedger();
  // The server's own requests (sampling, elicitation, roots) awaiting the client: tracked only for an observer.
  const serverRequests = new InFlightLedger();
  const stats: PumpStats = {
    framesFromClient: 0, framesFromServer: 0, invalidFromClient: 0, invalidFromServer: 0,
    oversizedFromClient: 0, oversizedFromServer: 0, answeredLocally: 0, deniedByPolicy: 0, rewrittenByPolicy: 0,
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
  const observe = (direction: Direction, phase: Phase, kind: ObservedKind, method: string, id: string | undefined, line: Buffer, action: ObservedFrame['action']): ObservedFrame => {
    const frame: ObservedFrame = { direction, phase, kind, method, id, line, decisions: decided, action, at: now(), body: parsedBody };
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
  const observeRefused = (direction: Direction, method: string, id: string, line: Buffer, outcome: InvocationOutcome, reply: Buffer): void => {
    if (observer === undefined) return;
    const observed = observe(direction, 'request', 'request', method, id, line, 'deny');
    endRequest({ rawId: id, method, observed, trace: observer.onFrame(observed) }, outcome, reply, undefined);
  };
  const denialOutcome = (): InvocationOutcome => (decided[decided.length - 1]?.kind === 'rateLimit' ? 'rate_limited' : 'blocked');
  const responseOutcome = (kind: Envelope['kind'], action: FrameAction): InvocationOutcome => {
    if (action.kind === 'deny') return 'blocked';
    return kind === 'error' ? 'upstream_error' : 'forwarded';
  };

  // limits.maxInFlight: the in-flight ledger is the count.
  const overInFlightLimit = (method: string, id: string, line: Buffer): boolean => {
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
    observeRefused('client-to-server', method, id, line, 'rate_limited', reply);
    client.send(reply);
    return true;
  };
  // An observe-mode in-flight limit's would-have, recorded with the request's own decisions.
  let inFlightWouldDeny: Decision | undefined;
  let refusal: { code: ErrorCode; detail: string } | undefined;
  const cancelled = new Map<string, PendingRequest>();
  let idleWaiters: Array<() => void> = [];

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
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const entry = ledger.settle(JSON.stringify(requestId));
    if (entry === undefined) return;
    endRequest(entry, 'cancelled', undefined, undefined);
    notifyIfIdle();
    // Kept, so a late response is still evaluated by what it answers (response rules redact it).
    cancelled.set(idKey(entry.rawId), entry);
    if (cancelled.size > MAX_CANCELLED_REMEMBERED) cancelled.delete(cancelled.keys().next().value!);
  };
  // The request a response answers, and whether it already ended (a late answer to a cancelled one).
  let lateAnswer = false;
  const settleResponse = (rawId: string): PendingRequest | undefined => {
    lateAnswer = false;
    const pending = ledger.settle(rawId);
    if (pending !== undefined) {
      notifyIfIdle();
      return pending;
    }
    if (cancelled.size === 0) return undefined;
    const key = idKey(rawId);
    const late = cancelled.get(key);
    cancelled.delete(key);
    lateAnswer = late !== undefined;
    return late;
  };
  /** A response that settled `pending` is on its way (or was replaced by `reply`): observe it, end the request. */
  const observeResponse = (direction: Direction, pending: PendingRequest, kind: Envelope['kind'], id: string | undefined, line: Buffer, action: FrameAction, reply: Buffer): void => {
    if (observer === undefined) return;
    const response = observe(direction, 'response', 'response', pending.method, id, line, action.kind);
    observer.onFrame(response);
    if (!lateAnswer) endRequest(pending, responseOutcome(kind, action), reply, response);
  };
  const policyActive = (): boolean => policy !== undefined && !policy.current.isEmpty;

  const trackBatch = (envelope: Envelope, settle: boolean): void => {
    for (const member of envelope.members ?? []) {
      if (member.id === undefined) continue;
      if (settle && (member.kind === 'response' || member.kind === 'error')) ledger.settle(member.id);
      if (!settle && member.kind === 'request') ledger.add(member.id, member.method!);
    }
  };

  client.start({
    onFrame(line) {
      stats.framesFromClient++;
      const envelope = readEnvelope(line);
      switch (envelope.kind) {
        case 'request': {
          if (refusal) {
            const reply = replyToClient(envelope.id!, refusal.code, refusal.detail);
            return observeRefused('client-to-server', envelope.method!, envelope.id!, line, 'upstream_exited', reply);
          }
          if (overInFlightLimit(envelope.method!, envelope.id!, line)) return;
          const action = check('client-to-server', 'request', envelope.method!, envelope.id, line);
          if (inFlightWouldDeny !== undefined) {
            decided = [inFlightWouldDeny, ...decided];
            inFlightWouldDeny = undefined;
          }
          if (action.kind === 'deny') {
            const reply = encodeDenial(envelope.id!, action.ruleId, action.verdict, envelope.method!);
            observeRefused('client-to-server', envelope.method!, envelope.id!, line, denialOutcome(), reply);
            return client.send(reply);
          }
          if (observer === undefined) ledger.add(envelope.id!, envelope.method!);
          else {
            const observed = observe('client-to-server', 'request', 'request', envelope.method!, envelope.id, line, action.kind);
            ledger.add(envelope.id!, envelope.method!, observed, observer.onFrame(observed));
          }
          return server.send(action.kind === 'replace' ? action.line : line, envelope);
        }
        case 'notification': {
          const action = check('client-to-server', 'request', envelope.method!, undefined, line);
          if (observer !== undefined) observer.onFrame(observe('client-to-server', 'request', 'notification', envelope.method!, undefined, line, action.kind));
          if (action.kind === 'deny') return; // nobody to answer: dropped, and recorded
          if (envelope.method === 'notifications/cancelled') settleCancelled(line);
          return server.send(action.kind === 'replace' ? action.line : line, envelope);
        }
        case 'response':
        case 'error':
          // The client's answer to a server→client request.
          if (observer !== undefined && envelope.id !== undefined) {
            const pending = serverRequests.settle(envelope.id);
            if (pending !== undefined) observeResponse('client-to-server', pending, envelope.kind, envelope.id, line, FORWARD, line);
          }
          return server.send(line, envelope);
        case 'batch':
          if (refusal) return replyToClient(null, refusal.code, refusal.detail);
          if (policyActive() || observer !== undefined) return passClientBatch(line, envelope);
          trackBatch(envelope, false);
          return server.send(line, envelope);
        case 'invalid': {
          if (envelope.problem === 'blank') return; // whitespace only: skipped like an empty line
          stats.invalidFromClient++;
          const code = envelope.problem === 'parse' ? 'SIDECAR_ERR_PARSE' : 'SIDECAR_ERR_INVALID_REQUEST';
          logger.warn({ problem: envelope.problem, detail: envelope.detail, bytes: line.length }, 'invalid frame from the client answered with an error');
          // A parse error is answered with id null (JSON-RPC 2.0 §5.1); an invalid request with its id if read.
          replyToClient(envelope.problem === 'parse' ? null : envelope.id ?? null, code, envelope.detail);
          return;
        }
      }
    },
    onOversized(line) {
      stats.oversizedFromClient++;
      handleOversizedFromClient(line);
    },
    onEnd: () => events.onClientEnd(),
    onWriteError: (error) => events.onClientGone(error),
    onCongested: () => server.pause(),
    onDrained: () => server.resume(),
  });

  server.start({
    onFrame(line) {
      stats.framesFromServer++;
      const envelope = readEnvelope(line);
      switch (envelope.kind) {
        case 'response':
        case 'error': {
          const pending = envelope.id === undefined ? undefined : settleResponse(envelope.id);
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
        case 'notification': {
          // The server's own requests (sampling, elicitation, roots) pass the policy like the client's.
          const action = check('server-to-client', 'request', envelope.method!, envelope.id, line);
          if (action.kind === 'deny') {
            // A denied server request is answered to the server and never reaches the client.
            if (envelope.kind === 'request') {
              const reply = encodeDenial(envelope.id!, action.ruleId, action.verdict, envelope.method!);
              observeRefused('server-to-client', envelope.method!, envelope.id!, line, denialOutcome(), reply);
              server.send(reply);
            } else if (observer !== undefined) {
              observer.onFrame(observe('server-to-client', 'request', 'notification', envelope.method!, undefined, line, 'deny'));
            }
            return;
          }
          if (observer !== undefined) observeServerMessage(envelope.kind, envelope.method!, envelope.id, line, action.kind);
          return client.send(action.kind === 'replace' ? action.line : line);
        }
        case 'batch':
          if (policyActive() || observer !== undefined) {
            const evaluated = evaluateResponseBatch(line);
            return evaluated === undefined ? undefined : client.send(evaluated);
          }
          trackBatch(envelope, true);
          notifyIfIdle();
          return client.send(line);
        case 'invalid':
          if (envelope.problem === 'blank') return;
          stats.invalidFromServer++;
          logger.warn({ problem: envelope.problem, detail: envelope.detail, line: preview(line) }, 'dropped a line from the server that is not a JSON-RPC frame');
          return;
      }
    },
    onOversized(line) {
      stats.oversizedFromServer++;
      handleOversizedFromServer(line);
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
    for (const pending of serverRequests.drain()) endRequest(pending, outcome === 'upstream_exited' ? 'upstream_exited' : outcome, undefined, undefined);
    notifyIfIdle();
  }

  /** A server request or notification on its way to the client. */
  function observeServerMessage(kind: Envelope['kind'], method: string, id: string | undefined, line: Buffer, action: FrameAction['kind']): void {
    const observed = observe('server-to-client', 'request', kind === 'request' ? 'request' : 'notification', method, id, line, action);
    const trace = observer!.onFrame(observed);
    if (kind === 'request') serverRequests.add(id!, method, observed, trace);
  }

  /** One member of a batch as a frame of its own (bytes with a newline, and its envelope). */
  function batchMembers(line: Buffer): Array<{ bytes: Buffer; envelope: EnvelopeResult }> {
    return (parseFrameBody(line) as unknown[]).map((item) => {
      const bytes = Buffer.from(`${JSON.stringify(item)}\n`);
      return { bytes, envelope: readEnvelope(bytes) };
    });
  }

  // A client batch (2025-03-26) under a policy or an observer: refused whole if a rule denies a
  // member, else each member is tracked (and observed) as a lone frame would be.
  function passClientBatch(line: Buffer, envelope: Envelope): void {
    const members = batchMembers(line);
    if (refuseBatchByPolicy(members)) return;
    if (observer === undefined) {
      trackBatch(envelope, false);
      return server.send(line, envelope);
    }
    for (const { bytes, envelope: member } of members) {
      if (member.kind === 'request') {
        decided = NO_DECISIONS;
        const observed = observe('client-to-server', 'request', 'request', member.method!, member.id, bytes, 'forward');
        ledger.add(member.id!, member.method!, observed, observer.onFrame(observed));
      } else if (member.kind === 'notification') {
        observer.onFrame(observe('client-to-server', 'request', 'notification', member.method!, undefined, bytes, 'forward'));
      }
    }
    server.send(line, envelope);
  }

  // A batch (2025-03-26) passes only whole: if a rule denies any member, every request in it is
  // answered with an error (the denied one with its reason) and nothing is forwarded.
  function refuseBatchByPolicy(members: ReadonlyArray<{ bytes: Buffer; envelope: EnvelopeResult }>): boolean {
    const current = policy?.current;
    if (current === undefined || current.isEmpty) return false;
    let denial: { member: number; action: Extract<FrameAction, { kind: 'deny' }>; decisions: readonly Decision[] } | undefined;
    for (const [index, { bytes, envelope }] of members.entries()) {
      if (envelope.kind !== 'request' && envelope.kind !== 'notification') continue;
      const action = check('client-to-server', 'request', envelope.method!, envelope.id, bytes);
      if (action.kind === 'deny') {
        denial = { member: index, action, decisions: decided };
        break;
      }
    }
    if (denial === undefined) return false;
    const { ruleId } = denial.action;
    const replies = members.flatMap(({ bytes, envelope }, index) => {
      if (envelope.kind !== 'request') return [];
      const verdict = index === denial!.member
        ? denial!.action.verdict
        : { effect: 'deny' as const, reason: 'batch_refused', message: `another request in the batch was denied by rule ${ruleId}`, category: 'forbidden' as const };
      const reply = encodeDenial(envelope.id!, ruleId, verdict, envelope.method!);
      decided = index === denial!.member ? denial!.decisions : NO_DECISIONS;
      observeRefused('client-to-server', envelope.method!, envelope.id!, bytes, index === denial!.member ? denialOutcome() : 'blocked', reply);
      return [reply.toString('utf8').trimEnd()];
    });
    if (replies.length > 0) client.send(Buffer.from(`[${replies.join(',')}]\n`));
    return true;
  }

  // A batch of responses (2025-03-26) under a policy: each member passes the response rules of
  // what it answers, as a lone response would; the batch is re-serialized only if one changed.
  function evaluateResponseBatch(line: Buffer): Buffer | undefined {
    let changed = false;
    const members: string[] = [];
    for (const item of parseFrameBody(line) as unknown[]) {
      const bytes = Buffer.from(`${JSON.stringify(item)}\n`);
      const envelope = readEnvelope(bytes);
      const text = (): string => bytes.toString('utf8', 0, bytes.length - 1);
      if (envelope.kind === 'invalid' || envelope.kind === 'batch') {
        members.push(text());
        continue;
      }
      if (envelope.kind === 'request' || envelope.kind === 'notification') {
        // A request or notification inside a server batch passes the request rules.
        const action = check('server-to-client', 'request', envelope.method!, envelope.id, bytes);
        if (action.kind === 'deny') {
          if (envelope.kind === 'request') {
            const reply = encodeDenial(envelope.id!, action.ruleId, action.verdict, envelope.method!);
            observeRefused('server-to-client', envelope.method!, envelope.id!, bytes, denialOutcome(), reply);
            server.send(reply);
          } else if (observer !== undefined) {
            observer.onFrame(observe('server-to-client', 'request', 'notification', envelope.method!, undefined, bytes, 'deny'));
          }
          changed = true;
          continue;
        }
        if (observer !== undefined) observeServerMessage(envelope.kind, envelope.method!, envelope.id, bytes, action.kind);
        if (action.kind === 'replace') changed = true;
        members.push(action.kind === 'replace' ? action.line.toString('utf8').trimEnd() : text());
        continue;
      }
      const pending = envelope.id === undefined ? undefined : settleResponse(envelope.id);
      if (pending === undefined) {
        // Answers nothing in flight: under a policy it is dropped, as a lone one would be.
        if (policyActive()) changed = true;
        else members.push(text());
        continue;
      }
      const action = check('server-to-client', 'response', pending.method, envelope.id, bytes);
      const reply = action.kind === 'forward' ? bytes : action.kind === 'replace' ? action.line : encodeDenial(pending.rawId, action.ruleId, action.verdict, pending.method);
      observeResponse('server-to-client', pending, envelope.kind, envelope.id, bytes, action, reply);
      if (action.kind !== 'forward') changed = true;
      members.push(action.kind === 'forward' ? text() : reply.toString('utf8').trimEnd());
    }
    notifyIfIdle();
    if (!changed) return line;
    return members.length === 0 ? undefined : Buffer.from(`[${members.join(',')}]\n`);
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
    const { id, method } = readOversizedId(line);
    const detail = `${line.bytes} bytes`;
    if (id !== undefined && method === undefined) {
      const pending = ledger.settle(id);
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
