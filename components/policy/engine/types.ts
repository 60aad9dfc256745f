/**
 * The rule contract (Envoy's filter chain, as values): a rule is a small filter over one frame
 * that returns a verdict. It never writes to a stream, never calls the next rule, and never
 * mutates the frame: the engine composes verdicts, decides (observe vs enforce) and acts.
 */
import type { PolicyMode, ToolReply } from '../document/document.js';

/** Which way the frame travels. */
export type Direction = 'client-to-server' | 'server-to-client';

/**
 * `request`: a request or notification as it travels (client requests, and the server's own
 * requests such as sampling/createMessage). `response`: a result or error travelling back,
 * evaluated with the method of the request it answers (`tools/list` results, `tools/call`
 * results, …).
 */
export type Phase = 'request' | 'response';

/** Who is calling, from the HTTP client's token (components/http-auth); absent over stdio. */
export interface Identity {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly agentId?: string;
}

/** What a rule sees. */
export interface FrameContext {
  readonly direction: Direction;
  readonly phase: Phase;
  /** The frame's method; for a response, the method of the request it answers. */
  readonly method: string;
  /** The frame's bytes as received (one NDJSON line). */
  readonly line: Buffer;
  /**
   * The parsed frame, as the rules before this one left it (enforced rewrites applied). Parsed
   * once, on first use, and shared: a rule MUST treat it as read-only and return a new value in
   * a `rewrite` verdict. Throws a SyntaxError for a frame that is not valid JSON.
   */
  body(): unknown;
  /**
   * True once an enforced rewrite of an earlier rule replaced the body, so that `line` no longer
   * shows what `body()` returns. A rule that reads `line` to avoid parsing (the redact rule's
   * scan of the bytes) must then use `body()`. Absent means false.
   */
  readonly rewritten?: boolean;
  /** Milliseconds from the engine's injected clock (rate limits). */
  readonly now: number;
  /** The caller's identity (HTTP with auth); undefined otherwise. */
  readonly identity?: Identity;
  /**
   * For a client request: the client requests already in flight in its session, not counting
   * this one (`limits.maxInFlight` reads it). 0 for a frame that does not become one (a
   * notification, a response, the server's own requests). Absent means 0.
   */
  readonly inFlight?: number;
  /**
   * How deep the frame nests, when the envelope reader already measured it (Envelope.depth);
   * `limits.maxDepth` scans the bytes itself when absent.
   */
  readonly depth?: number | undefined;
}

export type DenyCategory = 'forbidden' | 'transient_error' | 'user_error' | 'internal_error';

export type Verdict =
  /** Nothing to say about this frame. */
  | { readonly effect: 'continue' }
  /** Refuse the frame. `reason` is a stable snake_case token (`tool_not_allowed`); `message` is for people. */
  | {
    readonly effect: 'deny';
    readonly reason: string;
    readonly message: string;
    readonly category: DenyCategory;
    /** For a denied tools/call: answer with a JSON-RPC error (default) or a tool result with isError. */
    readonly reply?: ToolReply;
    /** For rate limits: when a retry could succeed. */
    readonly retryAfterMs?: number;
  }
  /** Replace the frame's body (redaction, list filtering). `changes` counts what was changed. */
  | { readonly effect: 'rewrite'; readonly reason: string; readonly body: unknown; readonly changes: number }
  /**
   * A client request's deadline (a `deadline` rule): the frame passes on unchanged, and the chain
   * goes on. Not a decision: it changes nothing about the frame, only how long its answer may take.
   */
  | { readonly effect: 'deadline'; readonly deadline: PolicyDeadline };

/** How long a client request may wait for the server, and the rule that says so (0: no deadline). */
export interface PolicyDeadline {
  readonly ruleId: string;
  readonly timeoutMs: number;
}

export const CONTINUE: Verdict = Object.freeze({ effect: 'continue' });

export interface Rule {
  /** Stable: shows in errors, logs and reports. */
  readonly id: string;
  /** The rule kind from the policy file (`methods`, `tools`, `redact`, …). */
  readonly kind: string;
  /** Effective mode, decided once at compile time (a global observe overrides every rule). */
  readonly mode: PolicyMode;
  readonly direction: Direction;
  readonly phase: Phase;
  /**
   * Method globs the rule can match; the engine only calls `evaluate` for frames whose method
   * matches one, so a rule pays nothing for frames it cannot act on. `*` matches every method.
   */
  readonly methods: readonly string[];
  /** Pure and synchronous. A throw is a rule failure: denies under enforce, recorded under observe. */
  evaluate(frame: FrameContext): Verdict;
}
