// Replaying a transcript under a candidate policy, in two passes over the file: the first
// checks every line and finds which requests have a recorded response (the in-flight limit
// counts a request only while the transcript shows it open); the second evaluates every frame
// under the candidate and compares with what was recorded. No child, no network, no clock.
import { buildPolicy } from '../policy/index.js';
import type { LoadedPolicy } from '../policy/index.js';
import { Tally, type DifferenceGroup, type Summary } from './compare.js';
import { pairKey } from './pairing.js';
import { policyDigest } from './record-line.js';
import { parseTranscriptLine, readLines, TranscriptLineError, type TranscriptLine } from './read.js';
import { RunReplay, type ReplayNotes } from './run-replay.js';
import type { RecordedPolicy } from './types.js';

export interface ReplayResult {
  readonly runs: number;
  readonly frames: number;
  readonly invocations: number;
  /** The policies the frames were recorded under, each once, in order of appearance; null: no policy. */
  readonly recordedPolicies: readonly (RecordedPolicy | null)[];
  readonly candidate: RecordedPolicy;
  readonly summary: Summary;
  /** Invocations newly denied or rate-limited, or whose deny or rate limit becomes enforced. */
  readonly newDenials: number;
  readonly differences: readonly DifferenceGroup[];
  readonly notes: ReplayNotes & { readonly tornLine: number | undefined };
}

interface Scan {
  readonly answered: ReadonlySet<number>;
  readonly tornLine: number | undefined;
}

/** Each line of the file, checked; a torn last line (after a header) ends the iteration, its number handed to `onTorn`. */
function* transcriptLines(path: string, onTorn: (line: number) => void): Generator<{ number: number; line: TranscriptLine }> {
  let started = false;
  for (const raw of readLines(path)) {
    if (raw.text.trim() === '') continue;
    let line: TranscriptLine;
    try {
      line = parseTranscriptLine(raw);
    } catch (error) {
      if (error instanceof TranscriptLineError && error.notJson && !raw.terminated && started) return onTorn(raw.number);
      throw error;
    }
    if (!started && line.type !== 'header') throw new TranscriptLineError(raw.number, 'a transcript starts with a header line (type "header")');
    started = true;
    yield { number: raw.number, line };
  }
  if (!started) throw new TranscriptLineError(1, 'the transcript is empty (no header line)');
}

/** The first pass: every line checked; the requests whose response is recorded. */
function scan(path: string): Scan {
  const answered = new Set<number>();
  let tornLine: number | undefined;
  let open = new Map<string, number>();
  for (const { number, line } of transcriptLines(path, (n) => (tornLine = n))) {
    if (line.type === 'header') open = new Map();
    if (line.type !== 'frame' || line.kind === 'notification') continue;
    const key = pairKey(line);
    if (line.kind === 'request') {
      open.set(key, number);
    } else if (open.has(key)) {
      answered.add(open.get(key)!);
      open.delete(key);
    }
  }
  return { answered, tornLine };
}

/**
 * Replays the transcript at `path` under `candidate`. Throws a TranscriptLineError for a line
 * that is not what the format says, and the file system's error for a file it cannot read.
 */
export async function replayTranscript(path: string, candidate: LoadedPolicy): Promise<ReplayResult> {
  const { answered, tornLine } = scan(path);
  const tally = new Tally();
  const notes: ReplayNotes = { framesNotRecorded: 0, argumentsNotEvaluated: 0, responsesNotRecorded: 0, unpairedResponses: 0 };
  const recordedPolicies = new Map<string, RecordedPolicy | null>();
  let runs = 0;
  let frames = 0;
  let invocations = 0;
  let run: RunReplay | undefined;
  const finish = (invocation: Parameters<Tally['add']>[0]): void => {
    invocations += 1;
    tally.add(invocation);
  };

  let compiled = await buildPolicy(candidate);
  for (const { number, line } of transcriptLines(path, () => undefined)) {
    if (line.type === 'header' || line.type === 'policy') recordedPolicies.set(JSON.stringify(line.policy), line.policy);
    if (line.type === 'header') {
      run?.end();
      if (runs > 0) compiled = await buildPolicy(candidate); // a new run of the proxy: fresh rate-limit buckets
      runs += 1;
      run = new RunReplay({ policy: compiled, argumentsMode: line.arguments, answered, notes, finish });
    } else if (line.type === 'gap') {
      notes.framesNotRecorded += line.dropped;
    } else if (line.type === 'frame') {
      frames += 1;
      run!.frame(line, number);
    }
  }
  run?.end();

  return {
    runs,
    frames,
    invocations,
    recordedPolicies: [...recordedPolicies.values()],
    candidate: { name: compiled.name, revision: compiled.revision, digest: policyDigest(compiled.digest), mode: compiled.mode },
    summary: tally.summary,
    newDenials: tally.newDenials,
    differences: tally.groups(),
    notes: { ...notes, tornLine },
  };
}
