/**
 * Per-service guards in gateway mode (docs/gateway.md, "Failures"): a service's request deadline
 * and its circuit breaker, as a FrameChannel decorator between that service's session recovery
 * and the gateway channel. It sees every frame the gateway sends the service (requests under
 * gateway ids, each with its envelope) and every frame back, so one service's slowness or
 * failures fail only its own namespace.
 */
import type { Logger } from 'pino';
import type { CircuitBreaker } from '../circuit-breaker/index.js';
import type { Clock } from '../clock/index.js';
import { encodeErrorResponse, type ErrorCode } from '../errors/index.js';
import { parseFrameBody, readEnvelope, type Envelope, type EnvelopeResult } from '../framing/index.js';
import { CANCELLED, INITIALIZE, PROGRESS, cancelledRequestKey, progressNotificationToken, requestProgressToken } from '../mcp/index.js';
import type { FrameChannel, FrameChannelHandlers, LocalReplyTarget } from '../transport/index.js';
import { ChurnMap } from '../values/index.js';

export interface ServiceGuardOptions {
  /** The service's namespace (logs, details). */
  readonly name: string;
  /** The service's channel: its governor's, wrapped by session recovery. */
  readonly channel: FrameChannel;
  readonly clock: Clock;
  /** The service's logger (it names the service). */
  readonly logger: Logger;
  /** The service's request deadline in ms: its `timeouts.requestMs`, else --request-timeout-ms; 0: none. */
  readonly requestTimeoutMs: number;
  /** --request-timeout-resets-on-progress: the service's progress for a request starts its deadline again. */
  readonly resetsOnProgress?: boolean;
  /** The service's own breaker (undefined: off). */
  readonly breaker?: CircuitBreaker | undefined;
}

export interface GuardedServiceChannel extends FrameChannel {
  /** The service is down for good (its governor gave up): the gateway failed what it held, so its deadlines stop. */
  serviceDown(): void;
  /** Requests of the gateway this service holds (tests, diagnostics). */
  readonly inFlight: number;
}

/** Whether a service needs guarding at all: without a deadline or a breaker the decorator is left out (nothing per frame). */
export function needsServiceGuards(requestTimeoutMs: number, breaker: CircuitBreaker | undefined): boolean {
  return requestTimeoutMs > 0 || (breaker !== undefined && breaker.enabled);
}

const NO_DEADLINE = Number.POSITIVE_INFINITY;
const PROGRESS_TOKEN_BYTES = Buffer.from('progressToken');
const CANCEL_ENVELOPE: Envelope = Object.freeze({ kind: 'notification', id: undefined, key: undefined, method: CANCELLED });
/** Timed-out ids remembered for their late answers; ids are never reused by a gateway, so the oldest can go. */
const TIMED_OUT_KEPT = 4096;

/** What the service is told of a request whose deadline passed (MCP cancellation, under the gateway's id). */
function deadlineCancellation(rawId: string, timeoutMs: number): Buffer {
  return Buffer.from(`{"jsonrpc":"2.0","method":"${CANCELLED}","params":{"requestId":${rawId},"reason":"the proxy's request deadline for this service (${timeoutMs} ms) passed"}}\n`);
}

// Deadlines: every request of a service has the same timeout, so an insertion-ordered Map (id key
// → deadline) is in deadline order (a progress reset moves its entry to the end), and one timer
// waits for the head. An answer costs one Map delete; the timer is not moved for it (it wakes,
// finds a later head, waits for that), and is cleared when nothing is left in flight.
//
// What the guard answers itself (a deadline past, the breaker open) it hands to the gateway's
// `onLocalReply` under the gateway id, as the restart queue does: the gateway puts it under the
// client's id and the pump's one local reply writes it (counted, reported with its outcome:
// `timeout` for -32008, `upstream_exited` for -32009). Without an onLocalReply (not the gateway)
// it writes the error frame itself, as if the service had answered.
//
// The breaker's failures, as far as the channel shows them: a request past its deadline, a
// request lost to a restart (`onReset`, except those the restart queue still holds), a request the
// restart queue gave up on (`onLocalReply` with -32005/-32003), an unreadable answer under a
// request's id. Its successes: any answer (a result or a JSON-RPC error) to a request in flight.
// `initialize` is neither timed nor refused: the gateway's fan-out timeout bounds it, and a
// service refused it would be left out of the session for good.
export function guardServiceChannel(options: ServiceGuardOptions): GuardedServiceChannel {
  const { name, channel, clock, logger, requestTimeoutMs } = options;
  const breaker = options.breaker !== undefined && options.breaker.enabled ? options.breaker : undefined;
  const resetsOnProgress = options.resetsOnProgress === true && requestTimeoutMs > 0;
  /** Requests in flight at the service: gateway id key → deadline on the clock (NO_DEADLINE without one). */
  const inFlight = new ChurnMap<string, number>();
  const timedOut = new Set<string>();
  /** With resetsOnProgress: progress token (JSON text) → id key, and back. */
  const keyOfToken = new Map<string, string>();
  const tokenOfKey = new Map<string, string>();
  /** The half-open breaker's probe, by id key. */
  let probeKey: string | undefined;
  let timer: unknown;
  let outer: FrameChannelHandlers | undefined;
  let down = false;

  const arm = (at: number): void => {
    timer = clock.setTimeout(fire, Math.max(0, at - clock.now()));
  };
  const disarm = (): void => {
    if (timer === undefined) return;
    clock.clearTimeout(timer);
    timer = undefined;
  };

  /** The request left the service (answered, failed, cancelled, timed out): true when it was in flight. */
  const settle = (key: string): boolean => {
    if (!inFlight.delete(key)) return false;
    if (tokenOfKey.size > 0) {
      const token = tokenOfKey.get(key);
      if (token !== undefined) {
        tokenOfKey.delete(key);
        keyOfToken.delete(token);
      }
    }
    if (inFlight.size === 0) disarm();
    return true;
  };

  /** A failure of the service under a request (the probe's failure opens the breaker again). */
  const failedUnder = (key: string): void => {
    if (key === probeKey) probeKey = undefined;
    breaker?.recordFailure();
  };

  /** Answers a request of the gateway with an error in the service's place. */
  const answer = (target: LocalReplyTarget, code: ErrorCode, detail: string, data: Record<string, unknown>): void => {
    const handlers = outer!;
    if (handlers.onLocalReply !== undefined) return handlers.onLocalReply(target, code, detail);
    handlers.onFrame(encodeErrorResponse(target.id, code, `service ${name}: ${detail}`, data), { kind: 'error', id: target.id, key: target.key, method: undefined });
  };

  function fire(): void {
    timer = undefined;
    const now = clock.now();
    for (const [key, at] of inFlight) {
      if (at > now) {
        // Entries without a deadline sit among those with one only when the timeout is 0: never armed then.
        if (at !== NO_DEADLINE) arm(at);
        return;
      }
      expire(key);
    }
  }

  function expire(key: string): void {
    settle(key);
    rememberTimedOut(key);
    failedUnder(key);
    logger.warn({ id: key, timeoutMs: requestTimeoutMs }, 'a request passed its service\'s deadline: answered with an error and cancelled at the service');
    try {
      answer({ id: key, key }, 'SIDECAR_ERR_REQUEST_TIMEOUT', `no answer within ${requestTimeoutMs} ms`, { timeoutMs: requestTimeoutMs });
      if (!down) channel.send(deadlineCancellation(key, requestTimeoutMs), CANCEL_ENVELOPE);
    } catch (error) {
      // One request's fault stays with it: the timer goes on for the others.
      logger.error({ err: error, id: key }, 'answering a request past its service\'s deadline failed');
    }
  }

  function rememberTimedOut(key: string): void {
    if (timedOut.size >= TIMED_OUT_KEPT) timedOut.delete(timedOut.values().next().value!);
    timedOut.add(key);
  }

  /** A request the gateway sends the service: refused while the breaker is open, else tracked. False: refused (not sent). */
  function admit(envelope: Envelope, line: Buffer): boolean {
    const key = envelope.key!;
    if (breaker !== undefined) {
      const admission = breaker.admit();
      if (!admission.admitted) {
        const detail = admission.state === 'open'
          ? `it failed ${breaker.settings.failures} times in a row; retry in ${admission.retryAfterMs} ms`
          : 'a probe request is testing whether it recovered';
        answer({ id: envelope.id!, key, method: envelope.method }, 'SIDECAR_ERR_CIRCUIT_OPEN', detail, { retryAfterMs: admission.retryAfterMs });
        return false;
      }
      if (admission.probe) probeKey = key;
    }
    if (requestTimeoutMs <= 0) {
      inFlight.set(key, NO_DEADLINE);
      return true;
    }
    const at = clock.now() + requestTimeoutMs;
    inFlight.set(key, at);
    if (timer === undefined) arm(at);
    if (resetsOnProgress && line.indexOf(PROGRESS_TOKEN_BYTES) >= 0) trackProgressToken(key, line);
    return true;
  }

  function trackProgressToken(key: string, line: Buffer): void {
    let token: string | number | undefined;
    try {
      token = requestProgressToken(parseFrameBody(line));
    } catch {
      return;
    }
    if (token === undefined) return;
    const text = JSON.stringify(token);
    keyOfToken.set(text, key);
    tokenOfKey.set(key, text);
  }

  /** The service's progress for a request: its deadline starts again (it is working on it). */
  function progressed(line: Buffer): void {
    let token: string | number | undefined;
    try {
      token = progressNotificationToken(parseFrameBody(line));
    } catch {
      return;
    }
    const key = token === undefined ? undefined : keyOfToken.get(JSON.stringify(token));
    if (key === undefined || !inFlight.delete(key)) return;
    inFlight.set(key, clock.now() + requestTimeoutMs);
  }

  /** The gateway told the service to stop working on a request (the client cancelled, a fan-out gave up): no verdict on the service. */
  function cancelled(line: Buffer): void {
    let key: string | undefined;
    try {
      key = cancelledRequestKey(parseFrameBody(line));
    } catch {
      return;
    }
    if (key === undefined || !settle(key)) return;
    if (key === probeKey) {
      probeKey = undefined;
      breaker?.probeAbandoned();
    }
  }

  /** An answer from the service: true to pass it on, false to drop it (late: its request already timed out). */
  function answered(key: string | undefined): boolean {
    if (key === undefined) return true;
    if (settle(key)) {
      if (key === probeKey) probeKey = undefined;
      breaker?.recordSuccess();
      return true;
    }
    return !timedOut.delete(key);
  }

  function fromService(envelope: EnvelopeResult, line: Buffer): boolean {
    switch (envelope.kind) {
      case 'response':
      case 'error':
        if (answered(envelope.key)) return true;
        logger.debug({ id: envelope.id }, 'a late answer to a request past its service\'s deadline was dropped');
        return false;
      case 'batch':
        // Members answered late are left for the gateway to drop (it no longer awaits their ids).
        for (const member of envelope.members!) if (member.kind === 'response' || member.kind === 'error') answered(member.key);
        return true;
      case 'notification':
        if (keyOfToken.size > 0 && envelope.method === PROGRESS) progressed(line);
        return true;
      case 'invalid':
        // An unreadable answer under a request's id: the gateway fails the request (-32006); a failure of the service.
        for (const key of [envelope.key, ...(envelope.responses ?? [])]) if (key !== undefined && settle(key)) failedUnder(key);
        return true;
      default:
        return true;
    }
  }

  const innerHandlers = (handlers: FrameChannelHandlers): FrameChannelHandlers => ({
    onFrame(line, given) {
      let envelope: EnvelopeResult | undefined = given;
      let passOn = true;
      try {
        // Read here once, handed on: the gateway does not read it again.
        envelope ??= readEnvelope(line);
        passOn = fromService(envelope, line);
      } catch (error) {
        logger.error({ err: error }, 'the service guards failed on a service\'s frame: passed on unguarded');
      }
      if (!passOn) return;
      // An unreadable frame goes on without its reading: the gateway reads it again (rare) and answers for it.
      handlers.onFrame(line, envelope === undefined || envelope.kind === 'invalid' ? undefined : envelope);
    },
    onOversized: (line) => handlers.onOversized(line),
    onEnd: (error) => handlers.onEnd(error),
    onWriteError: (error) => handlers.onWriteError(error),
    onCongested: () => handlers.onCongested(),
    onDrained: () => handlers.onDrained(),
    onReset(reason, waiting) {
      // Its server restarted: what it held and the restart queue does not is lost, each a failure under a request.
      for (const key of [...inFlight.keys()]) {
        if (waiting.has(key)) continue;
        settle(key);
        failedUnder(key);
      }
      handlers.onReset?.(reason, waiting);
    },
    onLocalReply(target, code, detail) {
      // The restart queue gave up on a request: the service could not take it.
      if (settle(target.key) && (code === 'SIDECAR_ERR_UPSTREAM_RESTARTING' || code === 'SIDECAR_ERR_UPSTREAM_EXITED')) failedUnder(target.key);
      handlers.onLocalReply?.(target, code, detail);
    },
  });

  return {
    start(handlers) {
      outer = handlers;
      channel.start(innerHandlers(handlers));
    },
    send(line, envelope) {
      if (envelope !== undefined) {
        try {
          if (envelope.kind === 'request' && envelope.key !== undefined && envelope.method !== INITIALIZE) {
            if (!admit(envelope, line)) return;
          } else if (envelope.method === CANCELLED && inFlight.size > 0) {
            cancelled(line);
          }
        } catch (error) {
          logger.error({ err: error }, 'the service guards failed on a frame to the service: sent unguarded');
        }
      }
      channel.send(line, envelope);
    },
    pause: () => channel.pause(),
    resume: () => channel.resume(),
    drained: () => channel.drained(),
    endOutput: () => channel.endOutput(),
    close() {
      disarm();
      channel.close();
    },
    serviceDown() {
      down = true;
      disarm();
      inFlight.clear();
      keyOfToken.clear();
      tokenOfKey.clear();
      if (probeKey !== undefined) {
        probeKey = undefined;
        breaker?.probeAbandoned();
      }
    },
    get inFlight() {
      return inFlight.size;
    },
  };
}
