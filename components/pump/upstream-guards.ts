import { parseFrameBody, type Envelope } from '../framing/index.js';
import { CANCELLED, INITIALIZE, requestProgressToken } from '../mcp/index.js';
import type { Evaluation } from '../policy/index.js';
import { CancelledRequests } from './cancelled-requests.js';
import type { PumpContext, PumpOptions } from './context.js';
import { RequestDeadlines, type DeadlineSource } from './deadlines.js';
import type { FaultBoundary } from './fault-boundary.js';
import type { LocalAnswer, LocalReply } from './local-reply.js';
import type { PumpRequest } from './request.js';
import type { UpstreamHealth } from './server-routes.js';

const PROGRESS_TOKEN_BYTES = Buffer.from('progressToken');
const CANCEL_ENVELOPE: Envelope = Object.freeze({ kind: 'notification', id: undefined, key: undefined, method: CANCELLED });

/** What the server is told of a request whose deadline passed (MCP cancellation; the id as the server saw it). */
function deadlineCancellation(rawId: string, timeoutMs: number): Buffer {
  return Buffer.from(`{"jsonrpc":"2.0","method":"${CANCELLED}","params":{"requestId":${rawId},"reason":"the proxy's request deadline (${timeoutMs} ms) passed"}}\n`);
}

/** The pump's guards on the way to the server: request deadlines and the circuit breaker. */
export interface UpstreamGuards {
  /** The breaker's answer to a new client request (undefined: it passes; it may be the probe). */
  refusal(): LocalAnswer | undefined;
  /** A client request was admitted to the ledger: its deadline starts; it may be the breaker's probe. */
  admitted(request: PumpRequest, line: Buffer, evaluation: Evaluation): void;
  /** A request failed because of the server (the restart queue gave up on it, a crash took it). */
  failed(): void;
  /** What the server's frames tell the guards (server-routes.ts). */
  readonly health: UpstreamHealth;
  /** Nothing is in flight any more: no timer may outlive the session. */
  idle(): void;
  /**
   * When every client request in flight will have ended at the latest (clock ms): the latest of
   * their deadlines. Undefined when nothing is in flight or one has no deadline (nothing bounds
   * it). Read when a caller needs the bound (a new HTTP session at a full cap), never per frame.
   */
  busyUntil(): number | undefined;
}

type MutableHealth = { -readonly [K in keyof UpstreamHealth]: UpstreamHealth[K] };

// Request deadlines (`--request-timeout-ms`, or a policy `deadline` rule for a tool: past it the
// client is answered, the server told to cancel, its late answer dropped; an observe-mode rule's
// deadline only logs that it would have) and the circuit breaker (consecutive server failures
// open it; open, new requests fail fast). Built once per session, beside the router; the
// deadlines' state is made on the first request that has one, so neither costs anything per
// frame while off.
export function createUpstreamGuards(ctx: PumpContext, options: PumpOptions, localReply: LocalReply, faults: FaultBoundary): UpstreamGuards {
  const { ledger, logger, stats, server } = ctx;
  const flagTimeoutMs = options.requestTimeoutMs ?? 0;
  const flagDeadline: DeadlineSource | undefined = flagTimeoutMs > 0 ? Object.freeze({ timeoutMs: flagTimeoutMs }) : undefined;
  const resetsOnProgress = options.requestTimeoutResetsOnProgress === true;
  let deadlines: RequestDeadlines | undefined;
  // Observe-mode deadline rules: what they would have cut off is logged, nothing is done to it.
  let wouldDeadlines: RequestDeadlines | undefined;
  // Requests whose deadline passed: their late answers are dropped (the client already has its error).
  const timedOut = new CancelledRequests();
  const breaker = options.breaker !== undefined && options.breaker.enabled ? options.breaker : undefined;
  // The half-open breaker's probe: granted by refusal(), taken by the next request admitted.
  let probeGranted = false;
  let probe: PumpRequest | undefined;
  const failed = (): void => breaker?.recordFailure();
  const health: MutableHealth = {
    timedOut,
    answered: breaker === undefined ? undefined : () => breaker.recordSuccess(),
    failed: breaker === undefined ? undefined : failed,
    progressed: undefined,
  };
  const onRequestEnd = (request: PumpRequest): void => {
    deadlines?.forget(request);
    wouldDeadlines?.forget(request);
    if (request !== probe) return;
    probe = undefined;
    // Ended without a verdict (cancelled, refused, the proxy stopping): the next request probes.
    breaker!.probeAbandoned();
  };
  if (breaker !== undefined) ctx.onClientRequestEnd = onRequestEnd;
  /** The first deadline of the session: from now on request ends and (if asked) progress are heard. */
  const deadlinesStarted = (): void => {
    ctx.onClientRequestEnd = onRequestEnd;
    if (resetsOnProgress) {
      health.progressed = (token) => {
        deadlines?.progressed(token);
        wouldDeadlines?.progressed(token);
      };
    }
  };

  /** A client request past its deadline: answered, cancelled at the server, its late answer to be dropped. */
  const expire = (request: PumpRequest, { timeoutMs, ruleId }: DeadlineSource): void => {
    if (ledger.get(request.key) !== request) return;
    try {
      ledger.settle(request.key);
      stats.timedOut++;
      failed();
      logger.warn({ id: request.rawId, method: request.method, timeoutMs, ...(ruleId !== undefined && { ruleId }) }, 'a request passed its deadline: answered with an error and cancelled at the server');
      localReply('client', request, { code: 'SIDECAR_ERR_REQUEST_TIMEOUT', detail: `no answer within ${timeoutMs} ms; request ${request.method}`, data: { timeoutMs } }, 'timeout');
      timedOut.remember(request);
      // MCP: initialize is never cancelled.
      if (request.method !== INITIALIZE) server.send(deadlineCancellation(request.rawId, timeoutMs), CANCEL_ENVELOPE);
    } catch (error) {
      faults.frame('client', undefined, error);
    }
    ctx.notifyIfIdle();
  };

  /** A request past an observe-mode rule's deadline: recorded only; it goes on waiting for its answer. */
  const wouldExpire = (request: PumpRequest, { timeoutMs, ruleId }: DeadlineSource): void => {
    if (ledger.get(request.key) !== request) return;
    logger.info({ id: request.rawId, method: request.method, timeoutMs, ruleId }, 'policy would time out a request: it passed the deadline of a rule in observe mode (not enforced)');
  };

  /** The progress token a request asks for (JSON text), read only when its bytes name one. */
  const progressTokenOf = (line: Buffer, parsed: unknown): string | undefined => {
    if (line.indexOf(PROGRESS_TOKEN_BYTES) < 0) return undefined;
    let body = parsed;
    try {
      body ??= parseFrameBody(line);
    } catch {
      return undefined;
    }
    const token = requestProgressToken(body);
    return token === undefined ? undefined : JSON.stringify(token);
  };

  return {
    refusal() {
      if (breaker === undefined) return undefined;
      const admission = breaker.admit();
      if (admission.admitted) {
        if (admission.probe) probeGranted = true;
        return undefined;
      }
      stats.refusedByBreaker++;
      const detail = admission.state === 'open'
        ? `the MCP server failed ${breaker.settings.failures} times in a row; retry in ${admission.retryAfterMs} ms`
        : 'a probe request is testing whether the MCP server recovered';
      return { code: 'SIDECAR_ERR_CIRCUIT_OPEN', detail, data: { retryAfterMs: admission.retryAfterMs } };
    },
    admitted(request, line, evaluation) {
      // An enforced policy deadline overrides the flag for this request (0: none at all).
      const deadline = evaluation.deadline ?? flagDeadline;
      const wouldDeadline = evaluation.observedDeadline;
      if ((deadline !== undefined && deadline.timeoutMs > 0) || wouldDeadline !== undefined) {
        if (deadlines === undefined && wouldDeadlines === undefined) deadlinesStarted();
        const token = resetsOnProgress ? progressTokenOf(line, evaluation.body) : undefined;
        if (deadline !== undefined && deadline.timeoutMs > 0) (deadlines ??= new RequestDeadlines(ctx.clock, expire)).track(request, deadline, token);
        if (wouldDeadline !== undefined && wouldDeadline.timeoutMs > 0) (wouldDeadlines ??= new RequestDeadlines(ctx.clock, wouldExpire)).track(request, wouldDeadline, token);
      }
      if (probeGranted) {
        probeGranted = false;
        probe = request;
      }
    },
    failed,
    health,
    idle() {
      if (deadlines !== undefined && deadlines.size === 0) deadlines.close();
      if (wouldDeadlines !== undefined && wouldDeadlines.size === 0) wouldDeadlines.close();
    },
    busyUntil() {
      if (ledger.size === 0 || deadlines === undefined || deadlines.size < ledger.size) return undefined;
      return deadlines.latest();
    },
  };
}
