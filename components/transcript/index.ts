/**
 * Record and replay (docs/replay.md). `--record <file>`: every frame as the proxy saw it, with
 * what the policy said, secrets redacted, appended as NDJSON by a writer that never blocks the
 * frame path. `mcp-sidecar replay`: the same frames under a candidate policy, with no server and
 * no network, compared with what was recorded.
 *
 * Recording needs no policy machinery beyond the secret redactor; replay (which loads YAML and
 * the policy schema) is loaded on first call.
 */
export {
  TRANSCRIPT_FORMAT, TRANSCRIPT_VERSION,
  type ArgumentsMode, type RecordedPolicy, type TranscriptFrame, type TranscriptLogger, type TranscriptOptions, type TranscriptStats, type TranscriptWriter,
} from './types.js';
export { SECRET_PLACEHOLDERS } from './placeholders.js';
export { openTranscript } from './writer.js';
export type { ReplayIo } from './command.js';

/**
 * `mcp-sidecar replay --transcript <file> --policy <candidate.yaml> [--fail-on new-denies] [--json]`
 * (the arguments after `replay`): resolves with the exit code, 0 done, 1 --fail-on matched, 2 usage
 * or unusable input.
 */
export async function runReplay(args: readonly string[], io: import('./command.js').ReplayIo): Promise<number> {
  return (await import('./command.js')).runReplay(args, io);
}
