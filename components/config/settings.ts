import { LOG_LEVELS, type LogLevel } from '../logging/index.js';
import type { PolicyMode } from '../policy/document.js';
import { parseByteSize, parseChoice, parseInteger, parseSha256 } from './parse-values.js';

// Every scalar setting: its flag, its environment variable, its default and how its text is
// read. One table, so precedence (flag > env > default) and error messages are the same for
// all, and the docs test can check that the README names each one.

export interface ScalarSettings {
  readonly maxFrameBytes: number;
  readonly logLevel: LogLevel;
  readonly maxRestarts: number;
  readonly restartBackoffMs: number;
  readonly restartBackoffMaxMs: number;
  readonly restartResetMs: number;
  readonly restartQueueLimit: number;
  readonly restartQueueTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly stdinCloseGraceMs: number;
  readonly killTimeoutMs: number;
  readonly executableSha256: string | undefined;
  readonly policyFile: string | undefined;
  /** Overrides the policy file's mode. */
  readonly mode: PolicyMode | undefined;
}

export interface SettingSpec {
  readonly key: keyof ScalarSettings;
  readonly flag: string;
  readonly env: string;
  readonly defaultValue: ScalarSettings[keyof ScalarSettings];
  /** Reads the text; `source` names the flag or variable in error messages. */
  readonly parse: (source: string, text: string) => ScalarSettings[keyof ScalarSettings];
}

const ms = (max: number) => (source: string, text: string) => parseInteger(source, text, 0, max);

export const SCALAR_SETTINGS: readonly SettingSpec[] = [
  { key: 'maxFrameBytes', flag: 'max-frame-bytes', env: 'MCP_PROXY_MAX_FRAME_BYTES', defaultValue: 16 * 1024 * 1024, parse: (s, t) => parseByteSize(s, t, 1024, 1024 ** 3) },
  { key: 'logLevel', flag: 'log-level', env: 'MCP_PROXY_LOG_LEVEL', defaultValue: 'info', parse: (s, t) => parseChoice(s, t, LOG_LEVELS) },
  { key: 'maxRestarts', flag: 'max-restarts', env: 'MCP_PROXY_MAX_RESTARTS', defaultValue: 5, parse: (s, t) => parseInteger(s, t, 0, 100) },
  { key: 'restartBackoffMs', flag: 'restart-backoff-ms', env: 'MCP_PROXY_RESTART_BACKOFF_MS', defaultValue: 1000, parse: ms(60_000) },
  { key: 'restartBackoffMaxMs', flag: 'restart-backoff-max-ms', env: 'MCP_PROXY_RESTART_BACKOFF_MAX_MS', defaultValue: 30_000, parse: ms(600_000) },
  { key: 'restartResetMs', flag: 'restart-reset-ms', env: 'MCP_PROXY_RESTART_RESET_MS', defaultValue: 60_000, parse: (s, t) => parseInteger(s, t, 1000, 3_600_000) },
  { key: 'restartQueueLimit', flag: 'restart-queue-limit', env: 'MCP_PROXY_RESTART_QUEUE_LIMIT', defaultValue: 256, parse: (s, t) => parseInteger(s, t, 0, 100_000) },
  { key: 'restartQueueTimeoutMs', flag: 'restart-queue-timeout-ms', env: 'MCP_PROXY_RESTART_QUEUE_TIMEOUT_MS', defaultValue: 30_000, parse: ms(600_000) },
  { key: 'drainTimeoutMs', flag: 'drain-timeout-ms', env: 'MCP_PROXY_DRAIN_TIMEOUT_MS', defaultValue: 5000, parse: ms(60_000) },
  { key: 'stdinCloseGraceMs', flag: 'stdin-close-grace-ms', env: 'MCP_PROXY_STDIN_CLOSE_GRACE_MS', defaultValue: 2000, parse: ms(60_000) },
  { key: 'killTimeoutMs', flag: 'kill-timeout-ms', env: 'MCP_PROXY_KILL_TIMEOUT_MS', defaultValue: 5000, parse: ms(60_000) },
  { key: 'executableSha256', flag: 'executable-sha256', env: 'MCP_PROXY_EXECUTABLE_SHA256', defaultValue: undefined, parse: parseSha256 },
  { key: 'policyFile', flag: 'policy', env: 'MCP_PROXY_POLICY', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'mode', flag: 'mode', env: 'MCP_PROXY_MODE', defaultValue: undefined, parse: (s, t) => parseChoice(s, t, ['observe', 'enforce'] as const) },
];

/** The policy file's `governor` section feeds these settings, below flags and environment. */
export const GOVERNOR_SECTION_KEYS = ['maxRestarts', 'restartBackoffMs', 'restartBackoffMaxMs', 'killTimeoutMs', 'drainTimeoutMs', 'executableSha256'] as const;

/** Settings that take several values: repeat the flag, or separate them with commas in the variable. */
export const LIST_SETTINGS = [
  { key: 'allow', flag: 'allow', env: 'MCP_PROXY_ALLOWED_PREFIXES' },
  { key: 'passEnv', flag: 'pass-env', env: 'MCP_PROXY_PASS_ENV' },
] as const;
