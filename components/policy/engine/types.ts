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
  /**
   * An object unique to the session the frame belongs to (one per pump): a rule that keeps
   * per-session state (what a session's server listed) keys it here, in a WeakMap, so one
   * session never decides another's frames. Absent (policy test, replay) means one session.
   */
  readonly session?: object | undefined;
  /**
   * For a response to `tools/call`: the tool its request named, when a response rule asked for
   * it (Rule.needsTool). Undefined otherwise.
   */
  readonly tool?: string | undefined;
  /**
   * The governed server's name (CEL `server`): the basename of its executable as admitted
   * (`server-github`, `uvx`, `node`), never what the server says of itself. Absent: unknown.
   */
  readonly server?: string | undefined;
  /**
   * The service the frame belongs to, for `when`/`unless` `server:` (rules/conditions.ts). With
   * `--proxy`: the one server (`server`). In gateway mode (`--servers`): the namespace of the
   * frame's target (`fs` for `fs.read_file`), null for a frame that belongs to no one service
   * (the gateway's own: initialize, lists, ping, notifications to all), undefined when the frame
   * goes to one service the bytes do not name (undecided: a condition then keeps the rule
   * applying). Resolved on first read (engine/services.ts), so a frame no such rule reads pays
   * nothing. Absent with no server known (policy test, replay): undefined.
   */
  readonly service?: string | null | undefined;
  /**
   * The MCP protocol version the session negotiated (the server's `initialize` result), for CEL
   * `era`; a 2026-07-28 request's own `_meta` version takes precedence. Absent: not negotiated.
   */
  readonly era?: string | undefined;
}

export type DenyCategory = 'forbidden' | 'transient_error' | 'user_error' | 'internal_error';

/** One tool-definition pin mismatch as a decision records it (the pins rule; both digests for the report). */
export interface DecisionPin {
  readonly kind: 'tool' | 'prompt' | 'resourceTemplate';
  readonly status: 'changed' | 'unknown' | 'unreadable';
  /** Absent for an entry without a readable name. */
  readonly key?: string;
  /** The lock's pin (changed). */
  readonly expected?: string;
  /** The pin of what the server lists now (changed, unknown). */
  readonly actual?: string;
  /** What changed, `<JSON pointer> <added|removed|changed>` (changed). */
  readonly changes?: string[];
}

/** What a pins verdict says about the definitions it judged (bounded: the rest are counted). */
export interface VerdictPins {
  readonly pins?: DecisionPin[];
  /** Mismatches left out of `pins` past its bound. */
  readonly pinsOmitted?: number;
  /** A denied (or would-be denied) call: the pin of the definition its session was shown (Evaluation.pin). */
  readonly pin?: string;
}

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
  } & VerdictPins
  /** Replace the frame's body (redaction, list filtering). `changes` counts what was changed. */
  | ({ readonly effect: 'rewrite'; readonly reason: string; readonly body: unknown; readonly changes: number; readonly message?: string } & VerdictPins)
  /**
   * A client request's deadline (a `deadline` rule): the frame passes on unchanged, and the chain
   * goes on. Not a decision: it changes nothing about the frame, only how long its answer may take.
   */
  | { readonly effect: 'deadline'; readonly deadline: PolicyDeadline }
  /**
   * The pin of the tool definition in force for a `tools/call` (the pins rule): the frame passes
   * on unchanged and the chain goes on; the call's report carries it. Not a decision.
   */
  | { readonly effect: 'pin'; readonly pin: string };

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
  /**
   * A response rule that needs the tool a `tools/call` response answers (FrameContext.tool): the
   * pump then reads the tool name of each `tools/call` it forwards (only then).
   */
  readonly needsTool?: boolean;
  /** Pure and synchronous. A throw is a rule failure: denies under enforce, recorded under observe. */
  evaluate(frame: FrameContext): Verdict;
}
