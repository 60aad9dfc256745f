import { parseArgs } from 'node:util';
import { SidecarError } from '../errors/index.js';
import { LOG_LEVELS, type LogLevel } from '../logging/index.js';
import { parseCommandLine } from '../proxy-process-governor/command-line.js';
import { parseByteSize, parseChoice } from './parse-values.js';

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const MAX_FRAME_BYTES_LIMIT = 1024 * 1024 * 1024;
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_STDIN_CLOSE_GRACE_MS = 2000;
export const DEFAULT_KILL_TIMEOUT_MS = 5000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;

/** The proxy's whole configuration, normalized and frozen: nothing downstream re-reads flags or env. */
export interface SidecarConfig {
  /** The server command as given, and its argv (parsed without a shell). */
  readonly command: string;
  readonly argv: readonly string[];
  readonly transport: 'stdio';
  readonly maxFrameBytes: number;
  readonly logLevel: LogLevel;
  readonly drainTimeoutMs: number;
  readonly stdinCloseGraceMs: number;
  readonly killTimeoutMs: number;
}

export type CliRequest =
  | { readonly kind: 'run'; readonly config: SidecarConfig }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

const OPTIONS = {
  proxy: { type: 'string' },
  stdio: { type: 'boolean' },
  'max-frame-bytes': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

// Flags win over environment variables, which win over defaults.
function pick(flag: string | undefined, env: NodeJS.ProcessEnv, name: string): [string, string] | undefined {
  if (flag !== undefined) return [flag, ''];
  const value = env[name];
  return value !== undefined && value !== '' ? [value, name] : undefined;
}

/** Reads the command line and environment into a config, or throws a SidecarError that says what to fix. */
export function loadConfig(args: readonly string[], env: NodeJS.ProcessEnv): CliRequest {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_USAGE', (error as Error).message, { hint: 'run mcp-sidecar --help' });
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (values.proxy === undefined) {
    throw new SidecarError('SIDECAR_ERR_USAGE', '--proxy "<server command>" is required', { hint: 'run mcp-sidecar --help' });
  }

  const frame = pick(values['max-frame-bytes'], env, 'MCP_PROXY_MAX_FRAME_BYTES');
  const level = pick(values['log-level'], env, 'MCP_PROXY_LOG_LEVEL');
  const config: SidecarConfig = {
    command: values.proxy,
    argv: Object.freeze(parseCommandLine(values.proxy)),
    transport: 'stdio',
    maxFrameBytes: frame ? parseByteSize(frame[1] || '--max-frame-bytes', frame[0], 1024, MAX_FRAME_BYTES_LIMIT) : DEFAULT_MAX_FRAME_BYTES,
    logLevel: level ? parseChoice(level[1] || '--log-level', level[0], LOG_LEVELS) : DEFAULT_LOG_LEVEL,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    stdinCloseGraceMs: DEFAULT_STDIN_CLOSE_GRACE_MS,
    killTimeoutMs: DEFAULT_KILL_TIMEOUT_MS,
  };
  return { kind: 'run', config: Object.freeze(config) };
}
