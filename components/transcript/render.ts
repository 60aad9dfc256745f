// The replay's output: text for people, or with --json one stable document for machines.
// Both come only from the result (sorted when it was built) and the paths as given: the same
// transcript and policy give the same bytes, run after run.
import { CATEGORIES, type Category, type Change, type DifferenceGroup, type InvocationRef } from './compare.js';
import type { ReplayResult } from './replay.js';
import type { RecordedPolicy } from './types.js';

export const REPLAY_OUTPUT_FORMAT = 'mcp-sidecar-replay';
export const REPLAY_OUTPUT_VERSION = 1;

export interface RenderInput {
  readonly result: ReplayResult;
  readonly transcriptPath: string;
  readonly policyPath: string;
  readonly failOn: 'new-denies' | undefined;
  readonly failed: boolean;
}

const LABELS: Readonly<Record<Category, string>> = { deny: 'denied', rate_limited: 'rate-limited', redact: 'redacted', rewrite: 'rewritten' };
const HEADINGS: Readonly<Record<Change, (label: string) => string>> = {
  newly: (label) => `newly ${label}`,
  noLonger: (label) => `no longer ${label}`,
  nowEnforced: (label) => `${label}, now enforced`,
  noLongerEnforced: (label) => `${label}, no longer enforced`,
};
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
// Names come from the wire: one with a blank or a control character is quoted, so it cannot break a line or pass for another.
const shown = (name: string): string => (name === '' || /[\s\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name);
const withPrefix = (digest: string): string => (digest.startsWith('sha256:') ? digest : `sha256:${digest}`);

function describePolicy(policy: RecordedPolicy | null): string {
  return policy === null ? 'no policy' : `${policy.name} revision ${policy.revision} (${policy.mode}, ${withPrefix(policy.digest)})`;
}

function describeRef(ref: InvocationRef): string {
  let text = `line ${ref.line}: ${shown(ref.method)}`;
  if (ref.id !== undefined) text += ` id ${ref.id}`;
  if (ref.invocationId !== undefined) text += ` (invocation ${ref.invocationId})`;
  if (ref.newlyAllowed) text += ', newly allowed (response not recorded)';
  return text;
}

function describeGroups(result: ReplayResult): string[] {
  const lines: string[] = [];
  let heading = '';
  let rule = '';
  for (const group of result.differences) {
    const nextHeading = HEADINGS[group.change](LABELS[group.category]);
    if (nextHeading !== heading) {
      heading = nextHeading;
      rule = '';
      lines.push('', `${heading} (${plural(result.summary[group.category][group.change], 'invocation')})`);
    }
    const nextRule = `  rule ${shown(group.rule.id)} (${group.rule.kind}, ${group.rule.enforced ? 'enforced' : 'would-have'})`;
    if (nextRule !== rule) lines.push((rule = nextRule));
    lines.push(`    ${group.target.type} ${shown(group.target.name)}`, ...group.invocations.map((ref) => `      ${describeRef(ref)}`));
  }
  return lines;
}

function describeNotes(result: ReplayResult): string[] {
  const { notes, recordedPolicies, candidate } = result;
  const lines: string[] = [];
  if (notes.tornLine !== undefined) lines.push(`line ${notes.tornLine} was cut short (the recording proxy stopped mid-write) and was skipped`);
  if (notes.framesNotRecorded > 0) lines.push(`${plural(notes.framesNotRecorded, 'frame')} were not recorded (the writer fell behind): the transcript is incomplete`);
  if (notes.argumentsNotEvaluated > 0) {
    lines.push(`${plural(notes.argumentsNotEvaluated, 'invocation')} had their arguments recorded as digests: argument rules and limits.maxDepth were not evaluated on them`);
  }
  if (notes.responsesNotRecorded > 0) {
    lines.push(`${plural(notes.responsesNotRecorded, 'request')} the recording denied would be let through: their responses were never recorded, so response rules were not evaluated on them`);
  }
  if (notes.unpairedResponses > 0) lines.push(`${plural(notes.unpairedResponses, 'response')} answer no request in the transcript`);
  if (recordedPolicies.length > 0 && recordedPolicies.every((p) => p !== null && withPrefix(p.digest) === withPrefix(candidate.digest))) {
    lines.push('the candidate is the policy the frames were recorded under (same digest)');
  }
  return lines.length === 0 ? [] : ['', 'notes', ...lines.map((line) => `  ${line}`)];
}

/** The human report. */
export function renderText({ result, transcriptPath, policyPath }: RenderInput): string {
  const width = Math.max(...CATEGORIES.map((c) => LABELS[c].length));
  const count = (n: number, w: number): string => String(n).padStart(w);
  const lines = [
    `transcript ${transcriptPath}: ${plural(result.runs, 'run')}, ${plural(result.frames, 'frame')}, ${plural(result.invocations, 'invocation')}`,
    `recorded under ${result.recordedPolicies.map(describePolicy).join(', then ') || 'no policy'}`,
    `candidate ${policyPath}: ${describePolicy(result.candidate)}`,
    '',
    // The last two columns count among the unchanged: the same category, its enforcement changed.
    `${''.padEnd(width)}  newly  no longer  unchanged  now enforced  no longer enforced`,
    ...CATEGORIES.map((c) => {
      const s = result.summary[c];
      return `${LABELS[c].padEnd(width)}  ${count(s.newly, 5)}  ${count(s.noLonger, 9)}  ${count(s.unchanged, 9)}  ${count(s.nowEnforced, 12)}  ${count(s.noLongerEnforced, 18)}`;
    }),
  ];
  lines.push(...(result.differences.length === 0 ? ['', 'no differences'] : describeGroups(result)), ...describeNotes(result));
  return `${lines.join('\n')}\n`;
}

/** The machine report: fixed keys in a fixed order, two-space indented. */
export function renderJson({ result, transcriptPath, policyPath, failOn, failed }: RenderInput): string {
  const document = {
    format: REPLAY_OUTPUT_FORMAT,
    version: REPLAY_OUTPUT_VERSION,
    transcript: transcriptPath,
    candidate: { file: policyPath, ...result.candidate },
    recorded: result.recordedPolicies,
    runs: result.runs,
    frames: result.frames,
    invocations: result.invocations,
    summary: Object.fromEntries(CATEGORIES.map((c) => [c, result.summary[c]])),
    newDenials: result.newDenials,
    differences: result.differences.map((g: DifferenceGroup) => ({
      category: g.category, change: g.change, rule: g.rule, target: g.target, invocations: g.invocations,
    })),
    notes: { ...result.notes, tornLine: result.notes.tornLine ?? null },
    failOn: failOn === undefined ? null : { condition: failOn, triggered: failed },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
