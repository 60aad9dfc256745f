/**
 * The report's fixed vocabulary, without zod: the writer and the wiring use these, the schema
 * (schema.ts) is built from them.
 */
/** Format 1: every line a self-contained, individually signed report (still read by verify). */
export const REPORT_SCHEMA_NAME = 'MiddlewareExecutionReportV1';
export const REPORT_SCHEMA_VERSION = 1;
/**
 * Format 2 (written now): reports without the per-line constants, the policy stated once per
 * checkpoint segment, and checkpoint lines (which name the format) carrying the signature.
 */
export const REPORT_FORMAT = 'MiddlewareExecutionReport';
export const REPORT_FORMAT_VERSION = 2;
/**
 * Why a checkpoint was written: every N reports (`count`), T ms after an unsigned report
 * (`interval`, only when signing), or when the reporter closes (`close`).
 */
export const CHECKPOINT_REASONS = ['count', 'interval', 'close'] as const;
export type CheckpointReason = (typeof CHECKPOINT_REASONS)[number];
/** Defaults of the checkpoint settings (docs/report.md). */
export const DEFAULT_CHECKPOINT_EVERY = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;

export const DIRECTIONS = ['client-to-server', 'server-to-client'] as const;
/**
 * forwarded: passed on and answered; blocked: denied by a rule (answered by the proxy, or a
 * notification dropped); rate_limited: refused by a rate limit; upstream_error: the peer
 * answered with a JSON-RPC error; upstream_exited: the server ended before answering;
 * timeout: no answer in time; cancelled: the client cancelled it; client_gone: the client
 * left before the answer.
 */
export const OUTCOMES = ['forwarded', 'blocked', 'rate_limited', 'upstream_error', 'upstream_exited', 'timeout', 'cancelled', 'client_gone'] as const;
/** chain_resumed: written first by a writer that continues an existing chain (a restart), naming the line it continues from. */
export const LIFECYCLE_EVENTS = ['spawn', 'exit', 'restart', 'fatal', 'refused', 'chain_resumed'] as const;
export const TARGET_TYPES = ['tool', 'prompt', 'resource'] as const;
/** A decision's pin mismatches, and the changed fields of each, are bounded (the pins rule keeps to these: a report line stays small). */
export const MAX_DECISION_PINS = 16;
export const MAX_DECISION_PIN_CHANGES = 16;

export type Outcome = (typeof OUTCOMES)[number];
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];
