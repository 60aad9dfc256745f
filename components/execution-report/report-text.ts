/**
 * The fast writer of a line's hashed text (format 2: invocation, lifecycle, checkpoint): exactly
 * `canonicalJson(line without digest, signature and timing)`, but written field by field in the canonical (sorted) key order that
 * the report's fixed shape allows, instead of sorting keys at run time. Only the free-form
 * values (arguments, detail) go through the generic canonical writer. This is most of what a
 * report costs, so it is kept tight; test/components/execution-report/report-text.test.ts
 * holds it to the reference on generated reports.
 *
 * Only the fields below are written: a key the schema does not know never reaches the line.
 */
import { canonicalText } from './digest.js';
import { DIRECTIONS, OUTCOMES, REPORT_FORMAT, REPORT_FORMAT_VERSION, TARGET_TYPES, type CheckpointReason } from './constants.js';
import type { InvocationInput, LifecycleInput } from './input.js';
import type { ReportDecision, ReportIdentity, ReportPolicy } from './schema.js';

const q = JSON.stringify as (text: string) => string;

/** A JSON integer; anything else is a bug in the caller, caught here rather than in verify. */
function int(value: number, field: string): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`execution report: ${field} must be an integer, got ${String(value)}`);
  return `${value}`;
}

// The enums' words, quoted once: JSON.stringify is most of the cost of a short string.
const QUOTED = new Map<string, string>(
  [...DIRECTIONS, ...OUTCOMES, ...TARGET_TYPES, 'observe', 'enforce', 'request', 'response', 'deny', 'rewrite'].map((word) => [word, q(word)]),
);
const word = (value: string): string => QUOTED.get(value) ?? q(value);

// Methods, tool names, rule ids and reasons repeat from report to report: their quoted text is
// kept (short ones, a bounded number), which costs a lookup instead of a JSON.stringify.
const REPEATED_LIMIT = 512;
const repeated = new Map<string, string>();
function name(value: string): string {
  let text = repeated.get(value);
  if (text === undefined) {
    text = q(value);
    if (value.length <= 128) {
      if (repeated.size >= REPEATED_LIMIT) repeated.clear();
      repeated.set(value, text);
    }
  }
  return text;
}

// Digests handed in are almost always `argumentsDigest`/`responseDigest` output, which needs no
// escaping: one pattern test instead of a JSON.stringify.
const SAFE_DIGEST = /^sha256:[0-9a-f]{64}$/;
const digestText = (value: string): string => (SAFE_DIGEST.test(value) ? `"${value}"` : q(value));

// The chain's previous digest is its own making (or checked against DIGEST_PATTERN when a chain
// continues): it needs no escaping. Digests handed in are quoted like any string.
const prevDigestText = (value: string | null): string => (value === null ? 'null' : `"${value}"`);

function decisionText(d: ReportDecision): string {
  let s = '{';
  if (d.changes !== undefined) s += `"changes":${int(d.changes, 'decision.changes')},`;
  s += `"effect":${word(d.effect)},"enforced":${d.enforced ? 'true' : 'false'},"kind":${name(d.kind)},"phase":${word(d.phase)},`;
  if (d.pins !== undefined) s += `"pins":${pinsText(d.pins)},`;
  if (d.pinsOmitted !== undefined) s += `"pinsOmitted":${int(d.pinsOmitted, 'decision.pinsOmitted')},`;
  return `${s}"reason":${name(d.reason)},"ruleId":${name(d.ruleId)}}`;
}

/** A decision's pin mismatches (rare: the pins rule's): keys in canonical order (actual, changes, expected, key, kind, status). */
function pinsText(pins: NonNullable<ReportDecision['pins']>): string {
  let s = '[';
  for (let i = 0; i < pins.length; i++) {
    const p = pins[i]!;
    const parts: string[] = [];
    if (p.actual !== undefined) parts.push(`"actual":${digestText(p.actual)}`);
    if (p.changes !== undefined) parts.push(`"changes":[${p.changes.map((c) => q(c)).join(',')}]`);
    if (p.expected !== undefined) parts.push(`"expected":${digestText(p.expected)}`);
    if (p.key !== undefined) parts.push(`"key":${q(p.key)}`);
    parts.push(`"kind":${q(p.kind)}`, `"status":${q(p.status)}`);
    s += `${i === 0 ? '' : ','}{${parts.join(',')}}`;
  }
  return `${s}]`;
}

function decisionsText(decisions: readonly ReportDecision[]): string {
  if (decisions.length === 0) return '[]';
  let s = '[';
  for (let i = 0; i < decisions.length; i++) s += (i === 0 ? '' : ',') + decisionText(decisions[i]!);
  return `${s}]`;
}

// The policy is the same object for every report until a reload: its text is written once.
let lastPolicy: ReportPolicy | undefined;
let lastPolicyText = '';
function policyText(p: ReportPolicy): string {
  if (p !== lastPolicy) {
    lastPolicyText = `{"digest":${q(p.digest)},"name":${q(p.name)},"revision":${q(p.revision)}}`;
    lastPolicy = p;
  }
  return lastPolicyText;
}

// A session's identity is one object for all its reports: its text is written once.
const identityTexts = new WeakMap<ReportIdentity, string>();
function identityText(id: ReportIdentity): string {
  let text = identityTexts.get(id);
  if (text === undefined) {
    text = writeIdentity(id);
    if (Object.isFrozen(id)) identityTexts.set(id, text);
  }
  return text;
}

function writeIdentity(id: ReportIdentity): string {
  const parts: string[] = [];
  if (id.agentId !== undefined) parts.push(`"agentId":${q(id.agentId)}`);
  if (id.tenantId !== undefined) parts.push(`"tenantId":${q(id.tenantId)}`);
  if (id.userId !== undefined) parts.push(`"userId":${q(id.userId)}`);
  return `{${parts.join(',')}}`;
}

/** The fields the chain assigns. */
export interface ChainFields {
  readonly seq: number;
  readonly invocationId: string;
  /** `invocationId` as JSON text, when the chain has it already (its default ids); else it is quoted here. */
  readonly invocationIdText?: string;
  readonly prevDigest: string | null;
}

/**
 * An invocation's hashed text. `withPolicy`: the chain states the policy on the first
 * invocation after each checkpoint (and when it changes); the others inherit it.
 */
export function invocationText(r: InvocationInput, c: ChainFields, withPolicy: boolean): string {
  let s = '{';
  if (r.arguments !== undefined) s += `"arguments":${canonicalText(r.arguments)},`;
  if (r.argumentsDigest !== undefined) s += `"argumentsDigest":${digestText(r.argumentsDigest)},`;
  if (r.correlationId !== undefined) s += `"correlationId":${q(r.correlationId)},`;
  if (r.correlationIds !== undefined) s += `"correlationIds":${canonicalText(r.correlationIds)},`;
  s += `"decisions":${decisionsText(r.decisions)},"direction":${word(r.direction)},`;
  if (r.dropped !== undefined) s += `"dropped":${int(r.dropped, 'dropped')},`;
  s += `"generation":${int(r.generation, 'generation')},`;
  if (r.identity !== undefined) s += `"identity":${identityText(r.identity)},`;
  s += `"invocationId":${c.invocationIdText ?? q(c.invocationId)},"kind":"invocation","method":${name(r.method)},"mode":${word(r.mode)},"outcome":${word(r.outcome)},`;
  if (r.pin !== undefined) s += `"pin":${digestText(r.pin)},`;
  if (withPolicy) s += `"policy":${policyText(r.policy)},`;
  s += `"prevDigest":${prevDigestText(c.prevDigest)}`;
  if (r.requestId !== undefined) s += `,"requestId":${q(r.requestId)}`;
  if (r.responseDigest !== undefined) s += `,"responseDigest":${digestText(r.responseDigest)}`;
  s += `,"seq":${int(c.seq, 'seq')}`;
  if (r.server !== undefined) s += `,"server":${name(r.server)}`;
  if (r.target !== undefined) s += `,"target":{"name":${name(r.target.name)},"type":${word(r.target.type)}}`;
  return `${s}}`;
}

export function lifecycleText(r: LifecycleInput, c: ChainFields): string {
  const d = r.detail;
  // Only the detail's known keys, in canonical order (attempt, command, exitCode, reason, signal).
  const detail = canonicalText({ attempt: d.attempt, command: d.command, exitCode: d.exitCode, reason: d.reason, signal: d.signal });
  let s = `{"detail":${detail},`;
  if (r.dropped !== undefined) s += `"dropped":${int(r.dropped, 'dropped')},`;
  s += `"event":${q(r.event)},"generation":${int(r.generation, 'generation')},"invocationId":${c.invocationIdText ?? q(c.invocationId)},"kind":"lifecycle","prevDigest":${prevDigestText(c.prevDigest)}`;
  s += `,"seq":${int(c.seq, 'seq')}`;
  if (r.server !== undefined) s += `,"server":${name(r.server)}`;
  return `${s}}`;
}

/** What a checkpoint states besides the chain fields. */
export interface CheckpointFields {
  readonly seq: number;
  readonly prevDigest: string | null;
  readonly reason: CheckpointReason;
  /** Reports (invocation and lifecycle) since the previous checkpoint of this chain, or since it started. */
  readonly reports: number;
  /** Reports dropped after the last report written (≥ 1), declared by this checkpoint; absent: none. */
  readonly dropped?: number;
}

const CHECKPOINT_HEAD = `"kind":"checkpoint","prevDigest":`;
const CHECKPOINT_SCHEMA = `,"schema":${q(REPORT_FORMAT)},"schemaVersion":${REPORT_FORMAT_VERSION},"seq":`;

export function checkpointText(c: CheckpointFields): string {
  // `dropped` sorts before `kind`: the canonical key order puts it first.
  const dropped = c.dropped === undefined ? '{' : `{"dropped":${int(c.dropped, 'dropped')},`;
  return `${dropped}${CHECKPOINT_HEAD}${prevDigestText(c.prevDigest)},"reason":${q(c.reason)},"reports":${int(c.reports, 'reports')}${CHECKPOINT_SCHEMA}${int(c.seq, 'seq')}}`;
}
