import type { Logger } from 'pino';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import { idKey, parseFrameBody, readEnvelope, readOversizedId, type Envelope, type OversizedLine } from '../framing/index.js';
import { evaluateFrame, type CompiledPolicy, type Decision, type Direction, type FrameAction, type Phase } from '../middleware-engine/index.js';
import type { FrameChannel } from '../transport/index.js';
import { InFlightLedger, type PendingRequest } from './in-flight-ledger.js';
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
  /** Answers every pending request with this error (the server will not). */
  failPending(code: ErrorCode, detail: string): void;
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
  /** Milliseconds, for rate limits; default Date.now. */
  readonly now?: () => number;
}

const FORWARD: FrameAction = Object.freeze({ kind: 'forward' });
const MAX_CANCELLED_REMEMBERED = 1024;

const PREVIEW_CHARS = 200;
function preview(line: Buffer): string {
  const text = line.toString('utf8', 0, Math.min(line.length, PREVIEW_CHARS * 4)).trimEnd();
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

// Routes frames between the client and the server channels. Frames are forwarded as their
// original bytes; the only frames the pump writes itself are error replies.
export function createPump({ client, server, logger, events, policy, now = Date.now }: PumpOptions): Pump {
  const ledger = new InFlightLedger();
  const stats: PumpStats = {
    framesFromClient: 0, framesFromServer: 0, invalidFromClient: 0, invalidFromServer: 0,
    oversizedFromClient: 0, oversizedFromServer: 0, answeredLocally: 0, deniedByPolicy: 0, rewrittenByPolicy: 0,
  };

  // The policy step: a frame no rule can act on costs one flag test and one map lookup. The
  // clock is passed, not read: only a rule that asks (a rate limit) reads it.
  const check = (direction: Direction, phase: Phase, method: string, id: string | undefined, line: Buffer): FrameAction => {
    const current = policy?.current;
    if (current === undefined || current.isEmpty) return FORWARD;
    const { action, decisions } = evaluateFrame(current, direction, phase, method, line, now);
    if (decisions.length > 0) events.onDecisions?.({ direction, phase, method, id, decisions });
    if (action.kind === 'deny') stats.deniedByPolicy++;
    else if (action.kind === 'replace') stats.rewrittenByPolicy++;
    return action;
  };
  // limits.maxInFlight: the in-flight ledger is the count.
  const overInFlightLimit = (method: string, id: string): boolean => {
    const current = policy?.current;
    const limit = current?.document.limits.maxInFlight;
    if (current === undefined || limit === undefined || ledger.size < limit) return false;
    const enforced = current.mode === 'enforce';
    const decision: Decision = { ruleId: 'limits.maxInFlight', kind: 'limits', phase: 'request', effect: 'deny', enforced, reason: 'too_many_in_flight', message: `${limit} requests are already in flight` };
    events.onDecisions?.({ direction: 'client-to-server', phase: 'request', method, id, decisions: [decision] });
    if (!enforced) return false;
    stats.deniedByPolicy++;
    client.send(encodeDenial(id, decision.ruleId, { effect: 'deny', reason: decision.reason, message: decision.message!, category: 'transient_error' }, method));
    return true;
  };
  let refusal: { code: ErrorCode; detail: string } | undefined;
  const cancelled = new Map<string, PendingRequest>();
  let idleWaiters: Array<() => void> = [];

  const replyToClient = (rawId: string | null, code: ErrorCode, detail: string): void => {
    stats.answeredLocally++;
    client.send(encodeErrorResponse(rawId, code, detail));
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
    notifyIfIdle();
    // Kept, so a late response is still evaluated by what it answers (response rules redact it).
    cancelled.set(idKey(entry.rawId), entry);
    if (cancelled.size > MAX_CANCELLED_REMEMBERED) cancelled.delete(cancelled.keys().next().value!);
  };
  const settleResponse = (rawId: string): PendingRequest | undefined => {
    const pending = ledger.settle(rawId);
    if (pending !== undefined) {
      notifyIfIdle();
      return pending;
    }
    if (cancelled.size === 0) return undefined;
    const key = idKey(rawId);
    const late = cancelled.get(key);
    cancelled.delete(key);
    return late;
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
          if (refusal) return replyToClient(envelope.id!, refusal.code, refusal.detail);
          if (overInFlightLimit(envelope.method!, envelope.id!)) return;
          const action = check('client-to-server', 'request', envelope.method!, envelope.id, line);
          if (action.kind === 'deny') return client.send(encodeDenial(envelope.id!, action.ruleId, action.verdict, envelope.method!));
          ledger.add(envelope.id!, envelope.method!);
          return server.send(action.kind === 'replace' ? action.line : line, envelope);
        }
        case 'notification': {
          const action = check('client-to-server', 'request', envelope.method!, undefined, line);
          if (action.kind === 'deny') return; // nobody to answer: dropped, and recorded
          if (envelope.method === 'notifications/cancelled') settleCancelled(line);
          return server.send(action.kind === 'replace' ? action.line : line, envelope);
        }
        case 'response':
        case 'error':
          return server.send(line, envelope);
        case 'batch':
          if (refusal) return replyToClient(null, refusal.code, refusal.detail);
          if (refuseBatchByPolicy(line)) return;
          trackBatch(envelope, false);
          return server.send(line, envelope);
        case 'invalid': {
          if (envelope.problem === 'blank') return; // whitespace only: skipped like an empty line
          stats.invalidFromClient++;
          const code = envelope.problem === 'parse' ? 'SIDECAR_ERR_PARSE' : 'SIDECAR_ERR_INVALID_REQUEST';
          logger.warn({ problem: envelope.problem, detail: envelope.detail, bytes: line.length }, 'invalid frame from the client answered with an error');
          // A parse error is answered with id null (JSON-RPC 2.0 §5.1); an invalid request with its id if read.
          return replyToClient(envelope.problem === 'parse' ? null : envelope.id ?? null, code, envelope.detail);
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
          if (action.kind === 'deny') return client.send(encodeDenial(pending.rawId, action.ruleId, action.verdict, pending.method));
          return client.send(action.kind === 'replace' ? action.line : line);
        }
        case 'request':
        case 'notification': {
          // The server's own requests (sampling, elicitation, roots) pass the policy like the client's.
          const action = check('server-to-client', 'request', envelope.method!, envelope.id, line);
          if (action.kind === 'deny') {
            // A denied server request is answered to the server and never reaches the client.
            if (envelope.kind === 'request') server.send(encodeDenial(envelope.id!, action.ruleId, action.verdict, envelope.method!));
            return;
          }
          return client.send(action.kind === 'replace' ? action.line : line);
        }
        case 'batch':
          if (policyActive()) {
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

  function failPending(code: ErrorCode, detail: string, spared?: ReadonlySet<string>): void {
    for (const pending of ledger.drain(spared)) replyToClient(pending.rawId, code, `${detail}; request ${pending.method}`);
    notifyIfIdle();
  }

  // A batch (2025-03-26) passes only whole: if a rule denies any member, every request in it is
  // answered with an error (the denied one with its reason) and nothing is forwarded.
  function refuseBatchByPolicy(line: Buffer): boolean {
    const current = policy?.current;
    if (current === undefined || current.isEmpty) return false;
    const members = (parseFrameBody(line) as unknown[]).map((item) => {
      const bytes = Buffer.from(`${JSON.stringify(item)}\n`);
      return { bytes, envelope: readEnvelope(bytes) };
    });
    let denial: { member: number; action: Extract<FrameAction, { kind: 'deny' }> } | undefined;
    for (const [index, { bytes, envelope }] of members.entries()) {
      if (envelope.kind !== 'request' && envelope.kind !== 'notification') continue;
      const action = check('client-to-server', 'request', envelope.method!, envelope.id, bytes);
      if (action.kind === 'deny') {
        denial = { member: index, action };
        break;
      }
    }
    if (denial === undefined) return false;
    const { ruleId } = denial.action;
    const replies = members.flatMap(({ envelope }, index) => {
      if (envelope.kind !== 'request') return [];
      const verdict = index === denial!.member
        ? denial!.action.verdict
        : { effect: 'deny' as const, reason: 'batch_refused', message: `another request in the batch was denied by rule ${ruleId}`, category: 'forbidden' as const };
      return [encodeDenial(envelope.id!, ruleId, verdict, envelope.method!).toString('utf8').trimEnd()];
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
      const bytes = Buffer.from(JSON.stringify(item));
      const envelope = readEnvelope(bytes);
      const isResponse = envelope.kind === 'response' || envelope.kind === 'error';
      const pending = isResponse && envelope.id !== undefined ? settleResponse(envelope.id) : undefined;
      if (!isResponse || pending === undefined) {
        // A request or notification inside a server batch passes the request rules.
        if (!isResponse && envelope.kind !== 'invalid' && envelope.kind !== 'batch') {
          const action = check('server-to-client', 'request', envelope.method!, envelope.id, bytes);
          if (action.kind === 'deny') {
            if (envelope.kind === 'request') server.send(encodeDenial(envelope.id!, action.ruleId, action.verdict, envelope.method!));
            changed = true;
            continue;
          }
        }
        if (isResponse) changed = true; // answers nothing in flight: dropped, as a lone one would be
        else members.push(bytes.toString('utf8'));
        continue;
      }
      const action = check('server-to-client', 'response', pending.method, envelope.id, bytes);
      if (action.kind === 'forward') {
        members.push(bytes.toString('utf8'));
        continue;
      }
      changed = true;
      members.push((action.kind === 'deny' ? encodeDenial(pending.rawId, action.ruleId, action.verdict, pending.method) : action.line).toString('utf8').trimEnd());
    }
    if (!changed) return line;
    return members.length === 0 ? undefined : Buffer.from(`[${members.join(',')}]\n`);
  }

  function handleOversizedFromClient(line: OversizedLine): void {
    const { id, method } = readOversizedId(line);
    const detail = `${line.bytes} bytes`;
    if (id !== undefined && method !== undefined) {
      logger.warn({ bytes: line.bytes, id, method }, 'request over the frame limit answered with an error');
      return replyToClient(id, 'SIDECAR_ERR_FRAME_TOO_LARGE', detail);
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
        replyToClient(pending.rawId, 'SIDECAR_ERR_UPSTREAM_FRAME_TOO_LARGE', detail);
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
    failPending: (code, detail) => failPending(code, detail),
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
