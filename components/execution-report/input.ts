/**
 * What the caller gives `ReportChain.append`: a report without what the chain assigns (`seq`,
 * `invocationId` unless given, `prevDigest`, `digest`, `signature`) and with the clock readings
 * that become `timing`. A policy engine `Decision` can be passed as it is: its `message`
 * (words for people, which may quote argument values) is not recorded.
 */
import type { Decision } from '../policy/index.js';
import type { LifecycleEvent, Outcome } from './constants.js';
import type { LifecycleDetail, ReportDecision, ReportIdentity, ReportPolicy, ReportTarget } from './schema.js';

export type Direction = 'client-to-server' | 'server-to-client';

interface InputBase {
  /** The child's generation (restart count). */
  readonly generation: number;
  /** Overrides the chain's id source (e.g. an id the caller already logged with the request). */
  readonly invocationId?: string;
  /** Reports dropped just before this one (set by the reporter under onOverflow: drop). */
  readonly dropped?: number;
  /** When it started: epoch milliseconds or a Date from the same clock; default: the chain's clock at append. */
  readonly startedAt?: number | Date;
  /** Default: the chain's clock at append minus `startedAt`, when `startedAt` is given. */
  readonly durationMs?: number;
}

export interface InvocationInput extends InputBase {
  readonly kind: 'invocation';
  readonly direction: Direction;
  readonly method: string;
  readonly target?: ReportTarget;
  /** The JSON-RPC id as JSON text (`7`, `"a"`), as the envelope reader gives it. Absent for a notification. */
  readonly requestId?: string;
  /** From `argumentsDigest(value)`. */
  readonly argumentsDigest?: string;
  /** Only when recording arguments is configured, and then after redaction. */
  readonly arguments?: unknown;
  readonly policy: ReportPolicy;
  readonly mode: 'observe' | 'enforce';
  /** In evaluation order, request phase then response phase. */
  readonly decisions: readonly ReportDecision[];
  readonly outcome: Outcome;
  /** For a `tools/call`: the pin of the tool definition in force, when the pins rule knows it. */
  readonly pin?: string;
  /** From `responseDigest(bytes)`. */
  readonly responseDigest?: string;
  readonly identity?: ReportIdentity;
  /** Gateway mode only: the service the request went to by its name (`fs`), `''` when it names none. Absent with `--proxy`. */
  readonly server?: string;
  /** Gateway mode only: the gateway id (JSON text) the request went to its service under, when the gateway settled that call. */
  readonly correlationId?: string;
  /** Gateway mode only: a fanned-out request's ids, by service name (JSON text each), for each service the gateway sent its part to. */
  readonly correlationIds?: Readonly<Record<string, string>>;
}

export interface LifecycleInput extends InputBase {
  readonly kind: 'lifecycle';
  readonly event: LifecycleEvent;
  readonly detail: LifecycleDetail;
  /** The child's pid: goes to `timing` (the OS picks it, so it is not hashed). */
  readonly pid?: number;
  /** Gateway mode only: the service whose server this event is about (`fs`). Absent with `--proxy`. */
  readonly server?: string;
}

export type ReportInput = InvocationInput | LifecycleInput;

// The engine's decisions go into reports as they are: if the two types drift apart, this line
// stops the build.
const _decisionIsReportDecision = (decision: Decision): ReportDecision => decision;
void _decisionIsReportDecision;
