/**
 * A span per invocation, by the OpenTelemetry MCP semantic conventions: a pump observer that
 * starts the span when a request is judged (its trace is the span) and ends it when the request
 * ends, with what the policy decided and how it ended. Lifecycle events of the server are spans
 * of their own. With --trace-inject it also rewrites a client request that carries no trace
 * context so the server continues the proxy's span.
 */
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Clock } from '../clock/index.js';
import { parseFrameBody } from '../framing/index.js';
import { targetFieldOf, targetOf } from '../mcp/index.js';
import type { Decision } from '../policy/index.js';
import type { GovernorEvent } from '../proxy-process-governor/index.js';
import type { ObservedFrame, PumpObserver, RequestEnd } from '../pump/index.js';
import { formatTraceparent, remoteContextOf, type RemoteContext } from './trace-context.js';
import { withTraceparent } from './traceparent-splice.js';

/** What a request carries from its start to its end. */
export interface InvocationTrace {
  readonly span: Span;
  /** True when the requester sent its own trace context (then nothing is injected). */
  readonly continued: boolean;
}

export interface TracerObserverOptions {
  readonly tracer: Tracer;
  /** `network.transport`: `pipe` for stdio, `tcp` for Streamable HTTP. */
  readonly transport: 'pipe' | 'tcp';
  /** --trace-inject: add `params._meta.traceparent` to a client request that has none. */
  readonly inject: boolean;
  /** Lifecycle spans' time (request spans take the pump's times). */
  readonly clock: Clock;
}

export interface TracerObserver extends PumpObserver<InvocationTrace> {
  /** A span for an event of the server's life (spawn, ready, exit, restart, refused, fatal). */
  lifecycle(event: GovernorEvent): void;
}

const TOOLS_CALL = 'tools/call';
/** Replies larger than this are not parsed for their error code (an error reply is small; a huge one is still an error). */
const MAX_REPLY_PARSE_BYTES = 64 * 1024;
const TRACEPARENT_BYTES = Buffer.from('traceparent');
const IS_ERROR_BYTES = Buffer.from('"isError"');

export function createTracerObserver({ tracer, transport, inject, clock }: TracerObserverOptions): TracerObserver {
  const onFrame = (frame: ObservedFrame): InvocationTrace | undefined => {
    if (frame.kind !== 'request') return undefined;
    // The body is parsed only when something is read from it: a target, or a trace context
    // (looked for in the bytes first, so a request without one is not parsed for it).
    const named = targetFieldOf(frame.method) !== undefined;
    const mayCarryContext = frame.line.includes(TRACEPARENT_BYTES);
    const body = frame.body ?? (named || mayCarryContext ? parsedOrUndefined(frame.line) : undefined);
    const remote = mayCarryContext ? remoteContextOf(body) : undefined;
    const attributes: Attributes = {
      'mcp.method.name': frame.method,
      'network.transport': transport,
      'mcp_sidecar.direction': frame.direction,
    };
    if (frame.id !== undefined) attributes['jsonrpc.request.id'] = idText(frame.id);
    const target = named ? targetOf(frame.method, body) : undefined;
    let name = frame.method;
    if (target?.kind === 'tool') {
      attributes['gen_ai.tool.name'] = target.name;
      attributes['gen_ai.operation.name'] = 'execute_tool';
      name = `${frame.method} ${target.name}`;
    } else if (target?.kind === 'prompt') {
      attributes['gen_ai.prompt.name'] = target.name;
      name = `${frame.method} ${target.name}`;
    } else if (target?.kind === 'resource') {
      // A URI is high-cardinality: an attribute, never the span name (the conventions' default).
      attributes['mcp.resource.uri'] = target.name;
    } else if (frame.method === TOOLS_CALL) {
      attributes['gen_ai.operation.name'] = 'execute_tool';
    }
    // The proxy serves the client's requests and relays the server's (sampling, elicitation, roots) to the client.
    const kind = frame.direction === 'client-to-server' ? SpanKind.SERVER : SpanKind.CLIENT;
    const span = tracer.startSpan(name, { kind, attributes, startTime: frame.at }, parentOf(remote));
    return { span, continued: remote !== undefined };
  };

  const onRequestEnd = (end: RequestEnd<InvocationTrace>): void => {
    const span = end.trace?.span;
    if (span === undefined) return;
    const attributes: Attributes = { 'mcp_sidecar.outcome': end.outcome };
    describeDecisions(attributes, end.request, end.response);
    const errorType = errorTypeOf(end, attributes);
    if (errorType !== undefined) {
      attributes['error.type'] = errorType;
      span.setStatus({ code: SpanStatusCode.ERROR, message: end.outcome });
    }
    span.setAttributes(attributes);
    span.end(end.at);
  };

  const rewriteForwarded = (invocation: InvocationTrace | undefined, line: Buffer): Buffer => {
    if (invocation === undefined || invocation.continued) return line;
    const context = invocation.span.spanContext();
    return withTraceparent(line, formatTraceparent(context.traceId, context.spanId, context.traceFlags)) ?? line;
  };

  const lifecycle = (event: GovernorEvent): void => {
    const now = clock.now();
    const attributes: Attributes = { 'mcp_sidecar.server.event': event.event, 'mcp_sidecar.server.generation': Math.max(0, event.generation) };
    if (event.event === 'spawn' || event.event === 'exit') {
      if (event.pid !== undefined) attributes['process.pid'] = event.pid;
    }
    if (event.event === 'exit') {
      if (event.exitCode !== null) attributes['process.exit.code'] = event.exitCode;
      if (event.signal !== null) attributes['mcp_sidecar.server.signal'] = event.signal;
      attributes['mcp_sidecar.server.reason'] = event.reason;
    } else if (event.event === 'restart') {
      attributes['mcp_sidecar.server.restart.attempt'] = event.attempt;
      attributes['mcp_sidecar.server.restart.delay_ms'] = event.delayMs;
    } else if (event.event === 'refused' || event.event === 'fatal') {
      attributes['mcp_sidecar.server.reason'] = event.reason;
      if (event.event === 'fatal') attributes['process.exit.code'] = event.exitCode;
    }
    const span = tracer.startSpan(`server ${event.event}`, { kind: SpanKind.INTERNAL, attributes, startTime: now }, ROOT_CONTEXT);
    if (event.event === 'refused' || event.event === 'fatal') {
      span.setAttribute('error.type', event.event);
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.reason });
    }
    span.end(now);
  };

  const observer: TracerObserver = { onFrame, onRequestEnd, lifecycle };
  return inject ? { ...observer, rewriteForwarded } : observer;
}

function parentOf(remote: RemoteContext | undefined): Context {
  if (remote === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: remote.traceId, spanId: remote.spanId, traceFlags: remote.traceFlags, isRemote: true,
    ...(remote.traceState === undefined ? {} : { traceState: createTraceState(remote.traceState) }),
  });
}

function parsedOrUndefined(line: Buffer): unknown {
  try {
    return parseFrameBody(line);
  } catch {
    return undefined;
  }
}

/** The id as the conventions want it: a string id without its quotes, a number as written. */
function idText(id: string): string {
  if (!id.startsWith('"')) return id;
  try {
    return JSON.parse(id) as string;
  } catch {
    return id;
  }
}

/** What the policy said of the request and of its response. */
function describeDecisions(attributes: Attributes, request: ObservedFrame, response: ObservedFrame | undefined): void {
  const decisions: Decision[] = [...request.decisions, ...(response?.decisions ?? [])];
  attributes['mcp_sidecar.decision'] = request.action === 'deny' ? 'deny'
    : request.action === 'replace' || response?.action === 'replace' ? 'rewrite'
      : response?.action === 'deny' ? 'deny' : 'allow';
  if (decisions.length === 0) return;
  attributes['mcp_sidecar.decision.rule_ids'] = decisions.map((decision) => decision.ruleId);
  attributes['mcp_sidecar.decision.reasons'] = decisions.map((decision) => decision.reason);
  // Observe mode (or a shadow rule): what would have been done, and was not.
  if (decisions.some((decision) => !decision.enforced)) attributes['mcp_sidecar.decision.shadow'] = true;
}

/**
 * The conventions' `error.type`: a JSON-RPC error's code (also `rpc.response.status_code`),
 * `tool_error` for a tool result with `isError`, else how the request ended when it did not end
 * with an answer; undefined for a success.
 */
function errorTypeOf(end: RequestEnd<InvocationTrace>, attributes: Attributes): string | undefined {
  const { reply, outcome } = end;
  const body = reply !== undefined && reply.length <= MAX_REPLY_PARSE_BYTES && (outcome !== 'forwarded' || (end.request.method === TOOLS_CALL && reply.includes(IS_ERROR_BYTES)))
    ? end.response?.body ?? parsedOrUndefined(reply)
    : undefined;
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  if (typeof code === 'number') {
    attributes['rpc.response.status_code'] = String(code);
    return String(code);
  }
  if ((body as { result?: { isError?: unknown } } | undefined)?.result?.isError === true) return 'tool_error';
  return outcome === 'forwarded' ? undefined : outcome;
}
