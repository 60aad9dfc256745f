/**
 * What the pump tells those who watch it (execution reports, transcripts, metrics): every frame
 * once, as received (and as delivered, when a rule rewrote it), with what the policy said; and,
 * for each request, how it ended. Without an observer the pump does none of this work.
 */
import type { Decision, Direction, Phase } from '../policy/index.js';

/** How a request ended (the execution report's `outcome`). */
export type InvocationOutcome =
  /** Passed on and answered with a result. */
  | 'forwarded'
  /** Denied by a rule (answered by the proxy, or a notification dropped). */
  | 'blocked'
  /** Refused by a rate limit or the in-flight limit. */
  | 'rate_limited'
  /** The peer answered with a JSON-RPC error (or an answer too large to pass). */
  | 'upstream_error'
  /** The server ended (or was restarted, or the proxy stopped) before answering. */
  | 'upstream_exited'
  /** No answer before the drain timeout at stop. */
  | 'timeout'
  /** The requester cancelled it (notifications/cancelled). */
  | 'cancelled'
  /** The requester went away before the answer. */
  | 'client_gone';

export interface ObservedFrame {
  readonly direction: Direction;
  /** `request` for requests and notifications, `response` for results and errors. */
  readonly phase: Phase;
  readonly kind: 'request' | 'notification' | 'response';
  /** For a response: the method of the request it answers. */
  readonly method: string;
  /** The JSON-RPC id as written (JSON text); undefined for a notification. */
  readonly id: string | undefined;
  /** The frame as received, before any rewrite (one NDJSON line with its newline). */
  readonly line: Buffer;
  /** What the rules said, in evaluation order; empty when none acted. */
  readonly decisions: readonly Decision[];
  /** What the pump did: forwarded the bytes, forwarded a rewrite, or denied. */
  readonly action: 'forward' | 'replace' | 'deny';
  /** Milliseconds from the pump's clock when the frame was handled. */
  readonly at: number;
  /** The frame parsed, as received, when the policy (or, in gateway mode, telling its service) already parsed it (read-only); undefined otherwise. */
  readonly body?: unknown;
  /**
   * What the peer got instead of `line` when an enforced rule rewrote the frame (action
   * `replace`; a redacted result, a filtered list); undefined otherwise. What is written down
   * of a frame must not hold what the policy took out of it (the transcript records this).
   */
  readonly delivered?: Buffer | undefined;
  /** For a `tools/call`: the pin of the tool definition in force (the pins rule, Evaluation.pin); undefined otherwise. */
  readonly pin?: string | undefined;
  /**
   * Gateway mode only (`--servers`): the service the frame's bytes route it to (`fs` for a call of
   * `fs.read_file`), read as the rules read it (policy/engine/services.ts); `''` when the frame
   * names no one service: the gateway's own (initialize, merged lists, ping), or one it routes by
   * what it remembers (a resource URI, a service's own request). Absent with `--proxy`.
   */
  readonly service?: string;
}

/**
 * `onFrame` is called for every frame judged, both ways. For a request, what it returns (a
 * trace: anything) is kept with the request and handed to `onRequestEnd` when it ends, exactly
 * once. `onRequestEnd` may return a promise: the pump stops reading from both sides until it
 * settles (a report sink that must not lose entries, under `block`).
 */
export interface PumpObserver<Trace = unknown> {
  onFrame(frame: ObservedFrame): Trace | undefined;
  onRequestEnd(end: RequestEnd<Trace>): void | Promise<void>;
  /**
   * What a client request admitted with this trace is sent to the server as, instead of `line`
   * (--trace-inject: its traceparent added). Absent on every observer but a tracer's that injects:
   * the pump then sends the bytes as they are, through the same code as before. Lone requests
   * only: a batch is forwarded as its original bytes.
   */
  readonly rewriteForwarded?: (trace: Trace | undefined, line: Buffer) => Buffer;
}

export interface RequestEnd<Trace = unknown> {
  readonly trace: Trace | undefined;
  /** The request as observed when it started. */
  readonly request: ObservedFrame;
  readonly outcome: InvocationOutcome;
  /** The frame the requester got (as forwarded, or the proxy's own error reply); undefined if none. */
  readonly reply: Buffer | undefined;
  /** The response as observed (its response-phase decisions); undefined when the peer never answered. */
  readonly response: ObservedFrame | undefined;
  /** Milliseconds from the pump's clock. */
  readonly at: number;
  /**
   * Gateway mode only: the id its service received the request under (JSON text), when the
   * gateway knows it. Set by runtime/session.ts on the end the pump made, before any observer
   * sees it (writable so that no end is copied per request); the pump never sets it.
   */
  correlationId?: string;
  /** Gateway mode only: a fanned-out request's ids, by service name (JSON text each), set as `correlationId` is. */
  correlationIds?: Readonly<Record<string, string>>;
}

/** Several observers as one: each gets every call, with its own trace. */
export function combineObservers(observers: readonly PumpObserver[]): PumpObserver | undefined {
  if (observers.length <= 1) return observers[0];
  const rewriters = observers.flatMap((observer, i) => (observer.rewriteForwarded === undefined ? [] : [{ rewrite: observer.rewriteForwarded, i }]));
  return {
    ...(rewriters.length > 0 && {
      rewriteForwarded: (trace: unknown, line: Buffer) => rewriters.reduce((bytes, { rewrite, i }) => rewrite((trace as unknown[] | undefined)?.[i], bytes), line),
    }),
    onFrame: (frame) => observers.map((observer) => observer.onFrame(frame)),
    onRequestEnd(end) {
      const traces = end.trace as unknown[] | undefined;
      let waiting: Promise<void>[] | undefined;
      observers.forEach((observer, i) => {
        const pending = observer.onRequestEnd({ ...end, trace: traces?.[i] });
        if (pending !== undefined) (waiting ??= []).push(pending);
      });
      return waiting === undefined ? undefined : Promise.all(waiting).then(() => undefined);
    },
  };
}
