import { parseFrameBody, type Envelope, type EnvelopeProblem, type EnvelopeResult } from '../framing/index.js';
import { PROGRESS, progressNotificationToken } from '../mcp/index.js';
import { redactCutForLog, redactForLog } from '../logging/index.js';
import { BatchSink, type FrameSink } from './batch-sink.js';
import type { CancelledRequests } from './cancelled-requests.js';
import { denialOutcome, MAX_PENDING, type PumpContext } from './context.js';
import type { FaultBoundary } from './fault-boundary.js';
import { problemCode, refusedRequest, type LocalAnswer, type LocalReply } from './local-reply.js';
import { PumpRequest } from './request.js';

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

// Everything from the server, by kind: its responses settle the client's requests (and pass the
// rules of the request they answer), its own requests and notifications pass the rules like the
// client's, and a line that is not one reading of a message is dropped, failing at once what it
// may have answered. A message takes the same route lone or in a server batch: it writes into a
// sink, the client channel for a lone frame, the batch's sink for a member (the batch is then
// forwarded as received, or as the members that remain). Built once per session.

/** What the server's frames tell the deadlines and the circuit breaker (each hook absent when off). */
export interface UpstreamHealth {
  /** Requests whose deadline passed: an answer to one is late, and dropped. */
  readonly timedOut: CancelledRequests;
  /** The server answered a request in flight (a result or an error): it is up. */
  readonly answered: (() => void) | undefined;
  /** A request failed because of the server (here: an unreadable answer). */
  readonly failed: (() => void) | undefined;
  /** A progress notification for this token (JSON text): its request's deadline restarts. */
  readonly progressed: ((token: string) => void) | undefined;
}

export function createServerRoutes(ctx: PumpContext, localReply: LocalReply, faults: FaultBoundary, cancelled: CancelledRequests, health: UpstreamHealth): (envelope: EnvelopeResult, line: Buffer) => void {
  const { client, logger, stats, ledger, serverRequests, observer, ends, listed } = ctx;
  const toClient: FrameSink = { deliver: (bytes, envelope) => client.send(bytes, envelope), drop: () => {} };

  // The request a response answers: from the ledger, or one the client cancelled (already ended: a late answer).
  const settleResponse = (key: string): PumpRequest | undefined => {
    const pending = ledger.settle(key);
    if (pending !== undefined) {
      ctx.notifyIfIdle();
      return pending;
    }
    return cancelled.take(key);
  };

  /** A response (lone or in a batch): the rules of the request it answers, then delivered, rewritten or denied; the request ends. */
  const routeServerResponse = (response: Envelope, line: Buffer, sink: FrameSink): void => {
    const request = response.key === undefined ? undefined : settleResponse(response.key);
    if (request === undefined && response.key !== undefined && health.timedOut.take(response.key) !== undefined) {
      // The client got SIDECAR_ERR_REQUEST_TIMEOUT for it and the server was told to cancel it.
      stats.lateAnswersDropped++;
      logger.debug({ id: response.id }, 'dropped an answer that came after its request\'s deadline');
      return sink.drop();
    }
    if (request === undefined) {
      // Under a policy, what a response answers decides which rules apply: unknown, it cannot pass.
      if (!ctx.policyActive()) return sink.deliver(line, response, true);
      logger.warn({ id: response.id }, 'dropped a response that answers no request in flight: the policy cannot tell what it answers');
      return sink.drop();
    }
    const late = request.ended;
    if (!late) health.answered?.();
    try {
      const evaluation = ctx.evaluate('server-to-client', 'response', request.method, response.id, line, 0, response.depth, request.tool);
      const action = evaluation.action;
      const observed = observer === undefined ? undefined : ctx.observe('server-to-client', 'response', 'response', request.method, response.id, line, evaluation, action.kind, action.kind === 'replace' ? action.line : undefined);
      if (observed !== undefined) observer!.onFrame(observed);
      if (action.kind === 'deny') {
        const reply = localReply('client', { id: request.rawId, key: request.key, method: request.method }, action, 'blocked', sink === toClient ? undefined : sink);
        if (!late) request.end('blocked', reply, observed);
        return;
      }
      const reply = action.kind === 'replace' ? action.line : line;
      // A list the client now holds: a policy change will tell it to list again (listed-kinds.ts).
      if (listed !== undefined && response.kind === 'response') listed.answered(request.method);
      if (!late) request.end(response.kind === 'error' ? 'upstream_error' : 'forwarded', reply, observed);
      sink.deliver(reply, response, action.kind === 'forward');
    } catch (error) {
      sink.drop();
      faults.frame('server', response, error, late ? undefined : request);
    }
  };

  /**
   * A request or notification from the server (sampling, elicitation, roots, logging), lone or
   * in a batch: it passes the policy like the client's; a refused request is answered to the server.
   */
  const routeServerMessage = (message: Envelope, line: Buffer, sink: FrameSink): void => {
    const method = message.method!;
    const isRequest = message.kind === 'request';
    if (isRequest && serverRequests.has(message.key!)) {
      logger.warn({ id: message.id, method }, 'refused a request from the server whose id is already in flight');
      localReply('server', message as { id: string; key: string }, { code: 'SIDECAR_ERR_ID_IN_FLIGHT', detail: `id ${message.id} (request ${method})` });
      return sink.drop();
    }
    if (isRequest && serverRequests.size >= MAX_PENDING) {
      logger.warn({ id: message.id, method, pending: MAX_PENDING }, 'refused a request from the server: too many of its requests are unanswered by the client');
      localReply('server', message as { id: string; key: string }, { code: 'SIDECAR_ERR_TOO_MANY_PENDING', detail: `${MAX_PENDING} requests to the client are unanswered` });
      return sink.drop();
    }
    const evaluation = ctx.evaluate('server-to-client', 'request', method, message.id, line, 0, message.depth);
    if (health.progressed !== undefined && method === PROGRESS) restartDeadline(line, evaluation.body);
    const action = evaluation.action;
    if (action.kind === 'deny') {
      // A denied server request is answered to the server and never reaches the client.
      if (isRequest) localReply('server', refusedRequest(ctx, 'server-to-client', message, line, evaluation), action, denialOutcome(evaluation));
      else if (observer !== undefined) observer.onFrame(ctx.observe('server-to-client', 'request', 'notification', method, undefined, line, evaluation, 'deny'));
      return sink.drop();
    }
    if (observer !== undefined) {
      const observed = ctx.observe('server-to-client', 'request', isRequest ? 'request' : 'notification', method, message.id, line, evaluation, action.kind, action.kind === 'replace' ? action.line : undefined);
      const trace = observer.onFrame(observed);
      if (isRequest) serverRequests.add(new PumpRequest('server-to-client', message.id!, message.key!, method, ends, observed, trace));
    } else if (isRequest) {
      serverRequests.add(new PumpRequest('server-to-client', message.id!, message.key!, method, ends));
    }
    sink.deliver(action.kind === 'replace' ? action.line : line, message, action.kind === 'forward');
  };

  // A batch from the server (2025-03-26): each member takes its lone route into the batch's
  // sink. Forwarded as its original bytes unless a member changed; then as the members that remain.
  const passServerBatch = (line: Buffer, batch: Envelope): void => {
    const sink = new BatchSink();
    for (const member of batch.members!) {
      if (member.kind === 'request' || member.kind === 'notification') routeServerMessage(member, member.bytes, sink);
      else routeServerResponse(member, member.bytes, sink);
    }
    if (!sink.changed) return client.send(line, batch);
    const joined = sink.joined();
    if (joined !== undefined) client.send(joined.line, joined.envelope);
  };

  /** A server frame that is not one reading of a JSON-RPC message: dropped; what it may have answered fails now. */
  const dropServerFrame = (problem: EnvelopeProblem, line: Buffer): void => {
    stats.invalidFromServer++;
    logger.warn({ problem: problem.problem, detail: problem.detail, line: preview(line) }, 'dropped a line from the server that is not one reading of a JSON-RPC frame');
    const answer: LocalAnswer = { code: problemCode(problem), detail: problem.detail };
    // The server's requests in it: told (it may be waiting for their answers).
    for (const request of problem.requests ?? []) localReply('server', request, answer);
    // The responses in it: the requests they answer fail at once instead of hanging.
    for (const key of problem.responses ?? []) failUnreadable(key, problem.detail);
    if (problem.key === undefined) return;
    // A lone frame whose id was read: a response to a client request fails that request; anything
    // else is taken as the server's own request (perhaps spelled `Method`) and answered.
    if (!failUnreadable(problem.key, problem.detail)) localReply('server', { id: problem.id!, key: problem.key }, answer);
  };
  /** The server's progress for a request: its deadline starts again (the server is working on it). */
  const restartDeadline = (line: Buffer, parsed: unknown): void => {
    let token: string | number | undefined;
    try {
      token = progressNotificationToken(parsed ?? parseFrameBody(line));
    } catch {
      return;
    }
    if (token !== undefined) health.progressed!(JSON.stringify(token));
  };

  /** Fails the client request this id key answers with -32006; false when none is pending. */
  const failUnreadable = (key: string, detail: string): boolean => {
    const pending = ledger.settle(key);
    if (pending === undefined) return false;
    health.failed?.();
    localReply('client', pending, { code: 'SIDECAR_ERR_UPSTREAM_INVALID_FRAME', detail: `${detail}; request ${pending.method}` }, 'upstream_error');
    ctx.notifyIfIdle();
    return true;
  };

  return (envelope, line) => {
    switch (envelope.kind) {
      case 'response':
      case 'error':
        return routeServerResponse(envelope, line, toClient);
      case 'request':
      case 'notification':
        return routeServerMessage(envelope, line, toClient);
      case 'batch':
        return passServerBatch(line, envelope);
      case 'invalid':
        if (envelope.problem === 'blank') return;
        return dropServerFrame(envelope, line);
    }
  };
}
