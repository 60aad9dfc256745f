// The lines a transcript is made of (docs/replay.md): a header when recording starts, one line
// per frame, and the occasional policy reload or gap. Keys are written in a fixed order, the
// frame body last (it is the long part), so a person can read the file with `less`.
import type { Decision, Identity } from '../policy/index.js';
import { argumentsDigest, boundedText } from '../execution-report/index.js';
import { recordedId } from './pairing.js';
import { markersToPlaceholders, placeholderFor } from './placeholders.js';
import { TRANSCRIPT_FORMAT, TRANSCRIPT_VERSION, type ArgumentsMode, type RecordedPolicy, type TranscriptFrame } from './types.js';

/** redactSecrets, as loadSecretRedactor() resolves it. */
export type RedactSecrets = (value: unknown, marker?: (detector: string) => string) => { readonly value: unknown };

/** `sha256:<hex>`, as execution reports write a policy's digest (a compiled policy's is bare hex). */
export const policyDigest = (digest: string): string => (digest.startsWith('sha256:') ? digest : `sha256:${digest}`);

const policyFields = (policy: RecordedPolicy | undefined) => (policy === undefined
  ? null
  : { name: policy.name, revision: policy.revision, digest: policyDigest(policy.digest), mode: policy.mode });

export function headerLine(argumentsMode: ArgumentsMode, policy: RecordedPolicy | undefined): string {
  return `${JSON.stringify({ type: 'header', format: TRANSCRIPT_FORMAT, version: TRANSCRIPT_VERSION, arguments: argumentsMode, policy: policyFields(policy) })}\n`;
}

export function policyLine(policy: RecordedPolicy | undefined): string {
  return `${JSON.stringify({ type: 'policy', policy: policyFields(policy) })}\n`;
}

/** Marks where frames are missing: the writer fell behind and dropped them. */
export function gapLine(dropped: number): string {
  return `${JSON.stringify({ type: 'gap', dropped })}\n`;
}

// The engine's message is for people and may quote argument values: never recorded.
const withoutMessage = (d: Decision) => ({
  ruleId: d.ruleId, kind: d.kind, phase: d.phase, effect: d.effect, enforced: d.enforced, reason: d.reason,
  ...(d.changes === undefined ? {} : { changes: d.changes }),
});

/** The identity's known fields, or undefined when it has none. */
function identityFields(identity: Identity | undefined): Identity | undefined {
  if (identity === undefined) return undefined;
  const fields: { tenantId?: string; userId?: string; agentId?: string } = {};
  for (const key of ['tenantId', 'userId', 'agentId'] as const) if (typeof identity[key] === 'string') fields[key] = identity[key];
  return Object.keys(fields).length === 0 ? undefined : fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A request with `params.arguments` (tools/call, prompts/get) with the arguments replaced by
 * their digest, taken after redaction as the execution report takes it: the two match, and a
 * digest of a short secret is never written (anyone could test guesses against it).
 */
function digestArguments(body: unknown, redactSecrets: RedactSecrets): unknown {
  if (!isRecord(body) || !isRecord(body['params']) || !('arguments' in body['params'])) return body;
  const params = body['params'];
  return { ...body, params: { ...params, arguments: argumentsDigest(redactSecrets(params['arguments']).value) } };
}

// The server's notifications a redact rule scans (rules/redact.ts), besides its responses.
const REDACTED_NOTIFICATIONS: ReadonlySet<string> = new Set(['notifications/message', 'notifications/progress']);

/** An enforced redact rule rewrote the frame: what the peer got is what may be written down. */
const redactedByPolicy = (frame: TranscriptFrame): frame is TranscriptFrame & { delivered: Buffer } =>
  frame.delivered !== undefined && frame.decisions.some((d) => d.kind === 'redact' && d.effect === 'rewrite' && d.enforced);

/**
 * One frame's line: the frame parsed (or, if it is not JSON, its text), arguments digested if
 * asked, and every secret the built-in detectors or a secret key name reveal replaced, in the
 * body and in the method and id fields alike, whatever the policy says. A frame an enforced
 * redact rule rewrote is recorded as delivered, the rule's markers of built-in detectors turned
 * into placeholders: what the rule took out (a secret split across items, a custom pattern's
 * match) never reaches the file. Other rewrites (a filtered list) are recorded as received,
 * since a replay must see what the rule removed. In the frames redact rules scan (the
 * server's responses and log and progress notifications), a secret becomes its detector's
 * placeholder (so a replayed redact rule finds it again); elsewhere `[REDACTED:<detector>]`,
 * the marker the execution report uses, so recorded arguments hash to the report's
 * argumentsDigest.
 */
export function frameLine(frame: TranscriptFrame, argumentsMode: ArgumentsMode, redactSecrets: RedactSecrets): string {
  const asDelivered = redactedByPolicy(frame);
  const raw = (asDelivered ? frame.delivered : frame.line).toString('utf8');
  let body: unknown;
  let text: string | undefined;
  try {
    body = JSON.parse(raw);
  } catch {
    text = raw.replace(/\r?\n$/, '');
  }
  if (asDelivered) body = markersToPlaceholders(body);
  if (argumentsMode === 'digest' && frame.kind === 'request') body = digestArguments(body, redactSecrets);
  const scannedByRedactRules = frame.direction === 'server-to-client'
    && (frame.kind === 'response' || (frame.kind === 'notification' && REDACTED_NOTIFICATIONS.has(frame.method)));
  const content = redactSecrets({ body, text }, scannedByRedactRules ? placeholderFor : undefined).value as { body: unknown; text: string | undefined };
  // The same marker on both sides of an invocation, so a request and its response still pair.
  // Redacted first, then bounded (issue 19: a peer's huge id or method was copied whole beside
  // the body), so no part of a secret survives in the kept prefix.
  const redacted = redactSecrets({ method: frame.method, id: frame.id }).value as { method: string; id: string | undefined };
  const envelope = { method: boundedText(redacted.method), id: redacted.id === undefined ? undefined : recordedId(redacted.id) };
  const identity = identityFields(frame.identity);
  const record = {
    type: 'frame',
    at: frame.at,
    ...(frame.session === undefined ? {} : { session: frame.session }),
    ...(identity === undefined ? {} : { identity }),
    direction: frame.direction,
    phase: frame.phase,
    kind: frame.kind,
    method: envelope.method,
    ...(envelope.id === undefined ? {} : { id: envelope.id }),
    action: frame.action,
    ...(frame.invocationId === undefined ? {} : { invocationId: frame.invocationId }),
    decisions: frame.decisions.map(withoutMessage),
    bytes: frame.line.length,
    ...(text === undefined ? { frame: content.body } : { text: content.text }),
  };
  return `${JSON.stringify(record)}\n`;
}
