/**
 * The single schema of a `MiddlewareExecutionReportV1`: the validator `report verify` uses
 * (`reportSchema.safeParse`) and, through `reportJsonSchema`, the published
 * docs/report.schema.json (`npm run schema`). The TypeScript types the writer is checked
 * against come from here too, so the three cannot drift.
 *
 * A report is one NDJSON line. Everything but `digest`, `signature` and `timing` is hashed
 * (see digest.ts); `timing` is the one block that differs between two runs of the same
 * transcript (clock readings, the OS-assigned pid).
 *
 * Writing reports never loads this module (zod costs ~50 ms at start): the writer imports its
 * types alone, and index.ts loads it on demand (`loadReportSchema`, verify).
 */
import { z } from 'zod';
import {
  CHECKPOINT_REASONS, DIRECTIONS, LIFECYCLE_EVENTS, MAX_DECISION_PIN_CHANGES, MAX_DECISION_PINS, OUTCOMES, REPORT_FORMAT, REPORT_FORMAT_VERSION, REPORT_SCHEMA_NAME, REPORT_SCHEMA_VERSION, TARGET_TYPES,
} from './constants.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const digest = z.string().regex(DIGEST).describe('"sha256:" and 64 lowercase hexadecimal digits');
const count = z.int().min(0);
const isoTime = z.iso.datetime().describe('An ISO 8601 UTC time, as Date.prototype.toISOString writes it.');

const policy = z.strictObject({
  name: z.string().min(1),
  revision: z.string(),
  digest: digest.describe('sha256 of the policy document\'s canonical JSON'),
}).describe('The policy the frame was evaluated against.');

const decisionPin = z.strictObject({
  kind: z.enum(['tool', 'prompt', 'resourceTemplate']),
  status: z.enum(['changed', 'unknown', 'unreadable']).describe('changed: its pin differs from the lock\'s; unknown: the lock does not hold it; unreadable: it cannot be pinned.'),
  key: z.string().optional().describe('The tool or prompt name, or the template\'s uriTemplate; absent when the entry had none.'),
  expected: digest.optional().describe('The pin in the lock (changed).'),
  actual: digest.optional().describe('The pin of what the server lists now (changed, unknown).'),
  changes: z.array(z.string()).max(MAX_DECISION_PIN_CHANGES).optional().describe('What changed: "<JSON pointer> added|removed|changed" (at most 16).'),
}).describe('One tool-definition pin mismatch.');

const decisionFields = {
  ruleId: z.string().min(1),
  kind: z.string().min(1).describe('The rule kind (methods, tools, redact, …).'),
  phase: z.enum(['request', 'response']),
  effect: z.enum(['deny', 'rewrite']),
  enforced: z.boolean().describe('false: a would-have (the rule or the policy is in observe mode).'),
  reason: z.string().min(1).describe('A stable snake_case token (tool_not_allowed, …).'),
  changes: count.optional().describe('For a rewrite: how many things it changed.'),
};
/** Format 1 was written before pins: its decisions never carry them. */
const decisionV1 = z.strictObject(decisionFields);
const decision = z.strictObject({
  ...decisionFields,
  pins: z.array(decisionPin).max(MAX_DECISION_PINS).optional().describe('The pins rule: each definition that did not match its pin, with both digests (at most 16; the rest counted in pinsOmitted).'),
  pinsOmitted: z.int().min(1).optional().describe('Mismatches left out of pins past its bound.'),
});

const target = z.strictObject({
  type: z.enum(TARGET_TYPES),
  name: z.string().describe('The tool or prompt name, or the resource URI.'),
});

const identity = z.strictObject({
  tenantId: z.string().optional(),
  userId: z.string().optional(),
  agentId: z.string().optional(),
}).describe('Who called: from the HTTP client\'s token claims (--identity-claims); absent over stdio.');

const timing = z.strictObject({
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  durationMs: z.number().min(0).optional(),
  pid: z.int().min(1).optional().describe('The child\'s process id (lifecycle reports): chosen by the OS, so not hashed.'),
}).describe('What differs between two runs of the same transcript: clock readings and the OS-assigned pid. Excluded from the digest.');

const signature = z.strictObject({
  alg: z.literal('ed25519'),
  keyId: z.string().regex(/^[0-9a-f]{16}$/).describe('The first 16 hex digits of sha256 of the public key (SPKI DER).'),
  value: z.string().regex(/^[A-Za-z0-9+/]{86}==$/).describe('base64 of the 64-byte Ed25519 signature of the UTF-8 bytes of `digest`.'),
}).describe('Over `digest`; excluded from the digest.');

/** Fields every report has: `head(kind)`, then the kind's own, then `tail` (the order only shapes the JSON Schema). */
const head = <K extends string>(kind: K) => ({
  schema: z.literal(REPORT_SCHEMA_NAME),
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  kind: z.literal(kind),
  seq: z.int().min(1).describe('1 for the first report of a chain, then +1 per report, across restarts and rotated files.'),
  invocationId: z.string().min(1).describe('Deterministic: by default `<seed>-<seq>`.'),
});

const tail = {
  generation: count.describe('The child\'s generation: how many times it was restarted.'),
  dropped: z.int().min(1).optional().describe('Reports dropped just before this one because the sink could not keep up (onOverflow: drop).'),
  prevDigest: digest.nullable().describe('The digest of the previous report in the chain; null for the first ever.'),
  digest: digest.describe('sha256 of the canonical JSON (RFC 8785) of the report without digest, signature and timing.'),
  timing,
  signature: signature.optional(),
};

const invocationFields = {
  direction: z.enum(DIRECTIONS),
  method: z.string(),
  target: target.optional(),
  requestId: z.string().optional().describe('The JSON-RPC id as JSON text: "7", "\\"a\\"". Absent for a notification.'),
  argumentsDigest: digest.optional().describe('sha256 of the canonical JSON of the arguments after secret redaction.'),
  arguments: z.unknown().optional().describe('The arguments after redaction; only when configured.'),
  mode: z.enum(['observe', 'enforce']).describe('The policy\'s effective mode.'),
  decisions: z.array(decision).describe('Every rule that acted or would have, in evaluation order.'),
  outcome: z.enum(OUTCOMES),
  pin: digest.optional().describe('tools/call: the pin of the tool definition in force (the one the session was last shown, else the lock\'s), with --tool-pins.'),
  responseDigest: digest.optional().describe('sha256 of the response bytes as forwarded.'),
  identity: identity.optional(),
  server: z.string().optional().describe('Gateway mode (--servers) only: the service the frame\'s bytes route it to (its namespace, "fs" for fs.read_file); "" when they name none (the gateway\'s own requests, and those it routes by what it remembers: resource URIs, a service\'s own requests).'),
  correlationId: z.string().optional().describe('Gateway mode (--servers) only: the id (JSON text, a number) the gateway sent the request to its service under, as that service received it; on a client request the gateway forwarded to one service and settled (answered, or failed there). Absent otherwise.'),
  correlationIds: z.record(z.string(), z.string()).optional().describe('Gateway mode (--servers) only: a client request the gateway fanned out (initialize, server/discover, the lists, logging/setLevel): by service name, the id (JSON text, a number) each service it sent its part to received it under; keys in canonical order. Absent otherwise (a request with one service has correlationId).'),
};

const lifecycleFields = {
  event: z.enum(LIFECYCLE_EVENTS),
  detail: z.strictObject({
    command: z.string().optional().describe('The server command (spawn, refused).'),
    exitCode: z.int().nullable().optional(),
    signal: z.string().nullable().optional(),
    attempt: z.int().min(1).optional().describe('The consecutive failure count (restart).'),
    reason: z.string().optional(),
    previousDigest: digest.optional().describe('The digest of the line this chain continues from (chain_resumed).'),
    previousSeq: z.int().min(1).optional().describe('The seq of the line this chain continues from (chain_resumed).'),
  }),
};

// Format 1: every line names the format and the policy, and is signed on its own.
// Format 1 was written before pins (`pin`, `decisions[].pins`) and the gateway (`server`, `correlationId`, `correlationIds`): it never carries them.
const { pin: _pin, decisions: _decisions, server: _server, correlationId: _correlationId, correlationIds: _correlationIds, ...invocationFieldsV1 } = invocationFields;
export const invocationReportSchema = z.strictObject({
  ...head('invocation'),
  ...invocationFieldsV1,
  decisions: z.array(decisionV1).describe('Every rule that acted or would have, in evaluation order.'),
  policy,
  ...tail,
}).describe('Format 1 (still verified): a client request with its outcome, a server→client request with its outcome, or a notification a rule acted on.');

export const lifecycleReportSchema = z.strictObject({
  ...head('lifecycle'),
  ...lifecycleFields,
  ...tail,
}).describe('Format 1 (still verified): an event in the child\'s life: spawn, exit, restart, fatal (gave up), refused (the allowlist did not admit it).');

// Format 2: report lines without the per-line constants and without a signature; the policy
// stated once per segment; checkpoint lines name the format and carry the signature.
const chainFields = {
  seq: z.int().min(1).describe('1 for the first line of a chain, then +1 per line (checkpoints included), across restarts and rotated files.'),
  prevDigest: tail.prevDigest,
  digest: tail.digest,
  timing,
};
const reportFields2 = {
  invocationId: z.string().min(1).describe('Deterministic: by default `<seed>-<seq>`.'),
  generation: tail.generation,
  dropped: tail.dropped,
};

export const invocationReport2Schema = z.strictObject({
  kind: z.literal('invocation'),
  ...chainFields,
  ...reportFields2,
  ...invocationFields,
  policy: policy.optional().describe('Stated on the first invocation of a chain, after each checkpoint, and when the policy changes; absent: the one last stated before it.'),
}).describe('Format 2: a client request with its outcome, a server→client request with its outcome, or a notification a rule acted on.');

export const lifecycleReport2Schema = z.strictObject({
  kind: z.literal('lifecycle'),
  ...chainFields,
  ...reportFields2,
  ...lifecycleFields,
  server: z.string().optional().describe('Gateway mode (--servers) only: the service whose server the event is about (its namespace). Absent with --proxy, and on chain_resumed.'),
}).describe('Format 2: an event in the child\'s life: spawn, exit, restart, fatal (gave up), refused (the allowlist did not admit it); or chain_resumed, the first line of a writer that continues an existing chain.');

export const checkpointSchema = z.strictObject({
  schema: z.literal(REPORT_FORMAT),
  schemaVersion: z.literal(REPORT_FORMAT_VERSION),
  kind: z.literal('checkpoint'),
  ...chainFields,
  reason: z.enum(CHECKPOINT_REASONS).describe('count: every N reports; interval: T ms after an uncovered report (when signing); close: the writer closed the file cleanly.'),
  reports: count.describe('Reports since the previous checkpoint of the same writer (or since it started).'),
  dropped: z.int().min(1).optional().describe('Reports dropped after the last report written before this checkpoint (onOverflow: drop): declared here because no report followed them (at close, or when an interval checkpoint falls due).'),
  signature: signature.optional().describe('Over `digest`, which covers every line before it through the chain; excluded from the digest.'),
}).describe('Format 2: a checkpoint: names the format and, when signing, signs the chain up to itself.');

export const reportSchemaV2 = z.discriminatedUnion('kind', [invocationReport2Schema, lifecycleReport2Schema, checkpointSchema]);
export const reportSchemaV1 = z.discriminatedUnion('kind', [invocationReportSchema, lifecycleReportSchema]);

/** The schema a parsed line is checked against: a format 1 line names its format on every line. */
export function reportSchemaFor(value: unknown): typeof reportSchemaV1 | typeof reportSchemaV2 {
  return typeof value === 'object' && value !== null && (value as { schema?: unknown }).schema === REPORT_SCHEMA_NAME ? reportSchemaV1 : reportSchemaV2;
}

/** Either format: what docs/report.schema.json publishes (verify picks the format per line: `reportSchemaFor`). */
export const reportSchema = z
  .union([reportSchemaV2, reportSchemaV1])
  .meta({
    title: 'MiddlewareExecutionReport',
    description: 'One line of an mcp-sidecar execution report file (NDJSON): format 2 (invocation, lifecycle, checkpoint) or format 1 (MiddlewareExecutionReportV1). Generated from components/execution-report/schema.ts by `npm run schema`; do not edit by hand.',
  });

export type ExecutionReport = z.output<typeof reportSchema>;
export type InvocationReport = z.output<typeof invocationReportSchema> | z.output<typeof invocationReport2Schema>;
export type LifecycleReport = z.output<typeof lifecycleReportSchema> | z.output<typeof lifecycleReport2Schema>;
export type CheckpointRecord = z.output<typeof checkpointSchema>;
export type ReportDecision = z.output<typeof decision>;
export type ReportPolicy = z.output<typeof policy>;
export type ReportTarget = z.output<typeof target>;
export type ReportIdentity = z.output<typeof identity>;
export type ReportTiming = z.output<typeof timing>;
export type ReportSignature = z.output<typeof signature>;
export type LifecycleDetail = LifecycleReport['detail'];

export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(reportSchema, {
    target: 'draft-2020-12',
    override: ({ jsonSchema }) => {
      // z.int() says "maximum: 2^53-1" for every integer; that bound is JavaScript's, not the report's.
      if (jsonSchema.type === 'integer' && jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.type === 'integer' && jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  }) as Record<string, unknown>;
}

/** docs/report.schema.json exactly as `npm run schema` writes it. */
export function reportJsonSchemaText(): string {
  return `${JSON.stringify(reportJsonSchema(), null, 2)}\n`;
}
