/**
 * The pump's observer that turns what it sees into execution reports: one per request (either
 * direction) when it ends, one per notification a rule acted on. What a report needs of the
 * request (target, arguments digest) is read when the request starts, so nothing but small
 * strings waits with it; the response is hashed once, as forwarded.
 *
 * Arguments are digested after secret redaction (the same redaction the transcript applies):
 * a digest of a short secret would let anyone test guesses of it, and a transcript's recorded
 * arguments hash to the report's digest.
 */
import { withoutLineEnd } from '../framing/index.js';
import { paramsOf as paramsOfBody, targetFieldOf } from '../mcp/index.js';
import { boundedText } from './bounded-text.js';
import type { CompiledPolicy, Identity } from '../policy/index.js';
import type { InvocationOutcome, ObservedFrame, PumpObserver, RequestEnd } from '../pump/index.js';
import type { ReportPolicy, ReportTarget } from './schema.js';
import { canonicalText, sha256Digest, DIGEST_PREFIX } from './digest.js';
import type { Reporter } from './reporter.js';

/** What stands for "no policy file": nothing is blocked or changed. */
export const NO_POLICY: ReportPolicy = Object.freeze({ name: 'none', revision: 'builtin', digest: sha256Digest('{}') });

export interface InvocationReportsOptions {
  readonly reporter: Reporter;
  /** The policy in force now (it may be reloaded); undefined: none. */
  readonly policy: () => CompiledPolicy | undefined;
  /** The child's generation now. */
  readonly generation: () => number;
  /** `redacted`: reports also carry the arguments, secrets redacted. */
  readonly arguments: 'digest' | 'redacted';
  /** From the middleware engine's `loadSecretScanner()`. */
  readonly redactSecrets: (value: unknown) => { readonly value: unknown; readonly changes: number };
  /** False when a value's JSON text shows there is nothing to redact (optional: without it, every value is walked). */
  readonly mayHoldSecretsInJson?: (json: string) => boolean;
  readonly identity?: Identity;
}

interface Trace {
  readonly policy: ReportPolicy;
  readonly mode: 'observe' | 'enforce';
  readonly target: ReportTarget | undefined;
  readonly argumentsDigest: string | undefined;
  readonly arguments: unknown;
}

// The policy's report form, made once per compiled policy (report-text.ts writes a policy's
// text once per object).
const reportPolicies = new WeakMap<CompiledPolicy, ReportPolicy>();
function reportPolicyOf(policy: CompiledPolicy | undefined): ReportPolicy {
  if (policy === undefined) return NO_POLICY;
  let report = reportPolicies.get(policy);
  if (report === undefined) {
    report = Object.freeze({ name: policy.name, revision: policy.revision, digest: policy.digest.startsWith(DIGEST_PREFIX) ? policy.digest : DIGEST_PREFIX + policy.digest });
    reportPolicies.set(policy, report);
  }
  return report;
}

/** The request's params: from the body the policy already parsed, else parsed here. */
function paramsOf(frame: ObservedFrame): Record<string, unknown> | undefined {
  let body = frame.body;
  if (body === undefined) {
    try {
      body = JSON.parse(frame.line.toString());
    } catch {
      return undefined;
    }
  }
  return paramsOfBody(body);
}

export function createInvocationReports(options: InvocationReportsOptions): PumpObserver<Trace> {
  const { reporter, generation, redactSecrets, mayHoldSecretsInJson } = options;
  const identity = options.identity !== undefined && Object.keys(options.identity).length > 0 ? options.identity : undefined;
  const withArguments = options.arguments === 'redacted';

  const startTrace = (frame: ObservedFrame): Trace => {
    const compiled = options.policy();
    const policy = reportPolicyOf(compiled);
    const mode = compiled?.mode ?? 'observe';
    const params = paramsOf(frame);
    if (params === undefined) return { policy, mode, target: undefined, argumentsDigest: undefined, arguments: undefined };
    const spec = targetFieldOf(frame.method);
    const name = spec === undefined ? undefined : params[spec.field];
    const target = typeof name === 'string' ? { type: spec!.kind, name: boundedText(name) } : undefined;
    // tools/call and prompts/get: their `arguments`; any other request: its params.
    const raw = spec?.kind === 'resource' || spec === undefined ? params : params['arguments'];
    if (raw === undefined) return { policy, mode, target, argumentsDigest: undefined, arguments: undefined };
    // The canonical text is needed for the digest anyway; most arguments show in it that there
    // is nothing to redact, and only the others are walked and written again.
    let text = canonicalText(raw);
    let redacted: unknown = raw;
    if (mayHoldSecretsInJson === undefined || mayHoldSecretsInJson(text)) {
      redacted = redactSecrets(raw).value;
      if (redacted !== raw) text = canonicalText(redacted);
    }
    return { policy, mode, target, argumentsDigest: sha256Digest(text), arguments: withArguments ? redacted : undefined };
  };

  const write = (frame: ObservedFrame, trace: Trace, outcome: InvocationOutcome, end: RequestEnd<Trace> | undefined): Promise<void> | undefined => {
    const decisions = end?.response === undefined || end.response.decisions.length === 0 ? frame.decisions : [...frame.decisions, ...end.response.decisions];
    return reporter.report({
      kind: 'invocation',
      direction: frame.direction,
      method: boundedText(frame.method),
      target: trace.target,
      requestId: frame.id === undefined ? undefined : boundedText(frame.id), // a peer's text, bounded (bounded-text.ts)
      argumentsDigest: trace.argumentsDigest,
      arguments: trace.arguments,
      policy: trace.policy,
      mode: trace.mode,
      decisions,
      outcome,
      pin: frame.pin,
      responseDigest: end?.reply === undefined ? undefined : sha256Digest(withoutLineEnd(end.reply)),
      identity,
      server: frame.service,
      correlationId: end?.correlationId,
      correlationIds: end?.correlationIds,
      generation: Math.max(0, generation()),
      startedAt: frame.at,
      durationMs: end === undefined ? 0 : Math.max(0, end.at - frame.at),
    });
  };

  return {
    onFrame(frame) {
      if (frame.kind === 'request') return startTrace(frame);
      // A notification is reported only when a rule acted on it (or would have).
      if (frame.kind === 'notification' && frame.decisions.length > 0) {
        void write(frame, startTrace(frame), frame.action === 'deny' ? 'blocked' : 'forwarded', undefined);
      }
      return undefined;
    },
    onRequestEnd(end) {
      return write(end.request, end.trace ?? startTrace(end.request), end.outcome, end);
    },
  };
}
