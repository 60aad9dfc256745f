/**
 * The report's fixed vocabulary, without zod: the writer and the wiring use these, the schema
 * (schema.ts) is built from them.
 */
export const REPORT_SCHEMA_NAME = 'MiddlewareExecutionReportV1';
export const REPORT_SCHEMA_VERSION = 1;

export const DIRECTIONS = ['client-to-server', 'server-to-client'] as const;
/**
 * forwarded: passed on and answered; blocked: denied by a rule (answered by the proxy, or a
 * notification dropped); rate_limited: refused by a rate limit; upstream_error: the peer
 * answered with a JSON-RPC error; upstream_exited: the server ended before answering;
 * timeout: no answer in time; cancelled: the client cancelled it; client_gone: the client
 * left before the answer.
 */
export const OUTCOMES = ['forwarded', 'blocked', 'rate_limited', 'upstream_error', 'upstream_exited', 'timeout', 'cancelled', 'client_gone'] as const;
export const LIFECYCLE_EVENTS = ['spawn', 'exit', 'restart', 'fatal', 'refused'] as const;
export const TARGET_TYPES = ['tool', 'prompt', 'resource'] as const;

export type Outcome = (typeof OUTCOMES)[number];
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];
