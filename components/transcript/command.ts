/**
 * `mcp-sidecar replay --transcript <file> --policy <candidate.yaml> [--fail-on new-denies] [--json]`:
 * re-evaluates a recorded session under a candidate policy and prints what would change.
 * Exit 0: done; 1: --fail-on new-denies and an invocation would newly be denied or
 * rate-limited (or see such a decision become enforced); 2: a usage error, a file that cannot
 * be read, an invalid policy or transcript.
 */
import { isSidecarError } from '../errors/index.js';
import { loadPolicyDocument, type LoadedPolicy } from '../policy/index.js';
import { TranscriptLineError } from './read.js';
import { renderJson, renderText } from './render.js';
import { replayTranscript, type ReplayResult } from './replay.js';

export interface ReplayIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const REPLAY_USAGE = `usage: mcp-sidecar replay --transcript <file> --policy <candidate.yaml> [--fail-on new-denies] [--json]

Re-evaluates every frame of a transcript (written with --record) under the candidate policy,
with no server and no network, and compares with the decisions recorded at the time: which
invocations would newly be (or no longer be) denied, rate-limited, redacted or rewritten,
grouped by rule and by tool. See docs/replay.md.

  --transcript <file>        the transcript
  --policy <file>            the candidate policy
  --fail-on new-denies       exit 1 when an invocation would newly be denied or rate-limited,
                             or its deny or rate limit would newly be enforced
  --json                     one JSON document instead of text
Exit 0: done; 1: --fail-on matched; 2: usage, unreadable or invalid input.
`;

const FAIL_ON = ['new-denies'] as const;

interface Options {
  readonly transcript: string;
  readonly policy: string;
  readonly failOn: (typeof FAIL_ON)[number] | undefined;
  readonly json: boolean;
}

type Parsed = { readonly help: true } | { readonly help: false; readonly options: Options } | { readonly error: string };

function parseArgs(args: readonly string[]): Parsed {
  const values: Record<string, string | undefined> = {};
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '--json') {
      json = true;
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--transcript' && flag !== '--policy' && flag !== '--fail-on') {
      return { error: arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument ${JSON.stringify(arg)}` };
    }
    const value = inline ?? args[++i];
    if (value === undefined || value === '') return { error: `${flag} needs a value` };
    if (values[flag] !== undefined) return { error: `${flag} is given twice` };
    values[flag] = value;
  }
  const transcript = values['--transcript'];
  const policy = values['--policy'];
  const failOn = values['--fail-on'];
  if (transcript === undefined) return { error: 'give the transcript: --transcript <file>' };
  if (policy === undefined) return { error: 'give the candidate policy: --policy <file>' };
  if (failOn !== undefined && !(FAIL_ON as readonly string[]).includes(failOn)) return { error: `--fail-on accepts ${FAIL_ON.join(', ')}, not ${JSON.stringify(failOn)}` };
  return { help: false, options: { transcript, policy, failOn: failOn as Options['failOn'], json } };
}

/** The message for what stopped the replay before it produced a result. */
function describeFailure(error: unknown, transcript: string): string {
  if (error instanceof TranscriptLineError) return `${transcript}:${error.line}: ${error.message}`;
  if (isSidecarError(error)) return error.message; // the policy: unreadable, or every error in it with file:line:col
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined) return `cannot read the transcript ${transcript}: ${(error as Error).message}`;
  throw error;
}

export async function runReplay(args: readonly string[], io: ReplayIo): Promise<number> {
  const parsed = parseArgs(args);
  if ('error' in parsed) {
    io.stderr.write(`replay: ${parsed.error}\n${REPLAY_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(REPLAY_USAGE);
    return 0;
  }
  const { options } = parsed;
  let result: ReplayResult;
  try {
    const candidate: LoadedPolicy = (await loadPolicyDocument()).loadPolicyFile(options.policy);
    result = await replayTranscript(options.transcript, candidate);
  } catch (error) {
    io.stderr.write(`replay: ${describeFailure(error, options.transcript)}\n`);
    return 2;
  }
  const newDenies = result.newDenials;
  const failed = options.failOn === 'new-denies' && newDenies > 0;
  const input = { result, transcriptPath: options.transcript, policyPath: options.policy, failOn: options.failOn, failed };
  io.stdout.write(options.json ? renderJson(input) : renderText(input));
  if (result.notes.tornLine !== undefined) io.stderr.write(`replay: warning: ${options.transcript}:${result.notes.tornLine}: the last line was cut short and was skipped\n`);
  if (failed) io.stderr.write(`replay: --fail-on new-denies: ${newDenies} invocation${newDenies === 1 ? '' : 's'} would newly be denied or rate-limited, or have that enforced\n`);
  return failed ? 1 : 0;
}
