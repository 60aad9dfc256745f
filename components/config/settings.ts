import { LOG_LEVELS, type LogLevel } from '../logging/index.js';
import type { PolicyMode } from '../policy/index.js';
import { FRAME_BYTES, GOVERNOR_BOUNDS, type Bounds } from '../values/index.js';
import { SidecarError } from '../errors/index.js';
import { parseAccountName, parseByteSize, parseChoice, parseIdentityClaims, parseInteger, parseListenAddress, parseSha256, parseUrl, type IdentityClaims, type ListenAddress } from './parse-values.js';

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
  /** A client request unanswered this long gets SIDECAR_ERR_REQUEST_TIMEOUT; 0: no deadline. */
  readonly requestTimeoutMs: number;
  /** The server's progress for a request restarts its deadline. */
  readonly requestTimeoutResetsOnProgress: boolean;
  /** The circuit breaker: consecutive server failures that open it (0: off), their window, the cool-down. */
  readonly circuitFailures: number;
  readonly circuitWindowMs: number;
  readonly circuitCooldownMs: number;
  readonly executableSha256: string | undefined;
  readonly serverUser: string | undefined;
  readonly serverGroup: string | undefined;
  readonly policyFile: string | undefined;
  /** Overrides the policy file's mode. */
  readonly mode: PolicyMode | undefined;
  /** A tool-pins lock file checked at run time (docs/policy.md "Checking pins at run time"). */
  readonly toolPins: string | undefined;
  /** What --tool-pins does with a definition the lock does not hold. */
  readonly toolPinsUnknown: 'deny' | 'allow' | 'observe';
  /** A trust-on-first-use state file: pins what the server first lists (docs/policy.md "Trust on first use"). */
  readonly toolPinsState: string | undefined;
  /** Policy bundles from a control plane (docs/operations.md "Policy bundles"): the URL polled, how often, the key, the cache. */
  readonly policyUrl: string | undefined;
  readonly policyPollMs: number;
  readonly policyPublicKey: string | undefined;
  readonly policyJwksUrl: string | undefined;
  readonly policyAllowUnsigned: boolean;
  readonly policyCacheDir: string | undefined;
  readonly reportFile: string | undefined;
  readonly reportFsync: 'always' | 'interval' | 'never';
  readonly reportFsyncIntervalMs: number;
  readonly reportRotateBytes: number;
  readonly reportRotateKeep: number;
  readonly reportQueueLimit: number;
  readonly reportOnOverflow: 'block' | 'drop';
  readonly reportArguments: ArgumentsRecording;
  readonly reportCheckpointEvery: number;
  readonly reportCheckpointIntervalMs: number;
  readonly reportSigningKey: string | undefined;
  /** OTLP/HTTP endpoint the report file is exported to (docs/report.md "Export"); its batch, poll interval, request timeout and spool warning. */
  readonly reportExport: string | undefined;
  readonly reportExportBatch: number;
  readonly reportExportIntervalMs: number;
  readonly reportExportTimeoutMs: number;
  readonly reportExportSpoolWarnBytes: number;
  readonly recordFile: string | undefined;
  readonly recordArguments: ArgumentsRecording;
  readonly httpListen: ListenAddress | undefined;
  readonly httpMaxSessions: number;
  readonly httpIdleTimeoutMs: number;
  readonly httpStatelessLingerMs: number;
  /** A caller's share of the HTTP sessions (--http); undefined: half of httpMaxSessions, at least 1. */
  readonly httpMaxSessionsPerIdentity: number | undefined;
  /** Requests one caller may have in flight over HTTP at once; undefined: no limit. */
  readonly httpMaxInFlightPerIdentity: number | undefined;
  readonly httpMaxBodyBytes: number | undefined;
  /** Servers spawned ahead of sessions (--http); undefined: 1. */
  readonly warmServers: number | undefined;
  readonly warmServerReadyTimeoutMs: number;
  readonly authTokenFile: string | undefined;
  readonly authJwksUrl: string | undefined;
  readonly authIssuer: string | undefined;
  readonly authAudience: string | undefined;
  readonly identityClaims: IdentityClaims;
  readonly adminListen: ListenAddress | undefined;
  /** The Collector's OTLP/HTTP traces endpoint (docs/operations.md "Traces"); undefined: no traces. */
  readonly otlpTraces: string | undefined;
  /** Requests without trace context are sent to the server with the proxy's (`params._meta.traceparent`). */
  readonly traceInject: boolean;
  /** Redis for `rateLimit` rules with `store: redis` (fleet-wide buckets); undefined: none. */
  readonly redisUrl: string | undefined;
  /** The gateway's servers file (docs/gateway.md); undefined: one server, --proxy. */
  readonly serversFile: string | undefined;
}

/** Arguments in reports and transcripts: only their digest, or the body after redaction. */
export type ArgumentsRecording = 'digest' | 'redacted';

export interface SettingSpec {
  readonly key: keyof ScalarSettings;
  readonly flag: string;
  readonly env: string;
  readonly defaultValue: ScalarSettings[keyof ScalarSettings];
  /** Reads the text; `source` names the flag or variable in error messages. */
  readonly parse: (source: string, text: string) => ScalarSettings[keyof ScalarSettings];
  /** A whole number's accepted range, as data: the parse uses it, and a docs test checks the README states it. */
  readonly range?: readonly [min: number, max: number];
}

/** A whole number from min to max: the range, and the parse that enforces it. */
const integer = (min: number, max: number) => ({ range: [min, max] as const, parse: (source: string, text: string) => parseInteger(source, text, min, max) });
const ms = (max: number) => integer(0, max);
/** A setting the policy's `governor` section can also hold: the same bounds in both places. */
const within = ({ min, max }: Bounds) => integer(min, max);

export const SCALAR_SETTINGS: readonly SettingSpec[] = [
  { key: 'maxFrameBytes', flag: 'max-frame-bytes', env: 'MCP_PROXY_MAX_FRAME_BYTES', defaultValue: 16 * 1024 * 1024, parse: (s, t) => parseByteSize(s, t, FRAME_BYTES.min, FRAME_BYTES.max) },
  { key: 'logLevel', flag: 'log-level', env: 'MCP_PROXY_LOG_LEVEL', defaultValue: 'info', parse: (s, t) => parseChoice(s, t, LOG_LEVELS) },
  { key: 'maxRestarts', flag: 'max-restarts', env: 'MCP_PROXY_MAX_RESTARTS', defaultValue: 5, ...within(GOVERNOR_BOUNDS.maxRestarts) },
  { key: 'restartBackoffMs', flag: 'restart-backoff-ms', env: 'MCP_PROXY_RESTART_BACKOFF_MS', defaultValue: 1000, ...within(GOVERNOR_BOUNDS.restartBackoffMs) },
  { key: 'restartBackoffMaxMs', flag: 'restart-backoff-max-ms', env: 'MCP_PROXY_RESTART_BACKOFF_MAX_MS', defaultValue: 30_000, ...within(GOVERNOR_BOUNDS.restartBackoffMaxMs) },
  { key: 'restartResetMs', flag: 'restart-reset-ms', env: 'MCP_PROXY_RESTART_RESET_MS', defaultValue: 60_000, ...integer(1000, 3_600_000) },
  { key: 'restartQueueLimit', flag: 'restart-queue-limit', env: 'MCP_PROXY_RESTART_QUEUE_LIMIT', defaultValue: 256, ...integer(0, 100_000) },
  { key: 'restartQueueTimeoutMs', flag: 'restart-queue-timeout-ms', env: 'MCP_PROXY_RESTART_QUEUE_TIMEOUT_MS', defaultValue: 30_000, ...ms(600_000) },
  { key: 'drainTimeoutMs', flag: 'drain-timeout-ms', env: 'MCP_PROXY_DRAIN_TIMEOUT_MS', defaultValue: 5000, ...within(GOVERNOR_BOUNDS.drainTimeoutMs) },
  { key: 'stdinCloseGraceMs', flag: 'stdin-close-grace-ms', env: 'MCP_PROXY_STDIN_CLOSE_GRACE_MS', defaultValue: 2000, ...ms(60_000) },
  { key: 'killTimeoutMs', flag: 'kill-timeout-ms', env: 'MCP_PROXY_KILL_TIMEOUT_MS', defaultValue: 5000, ...within(GOVERNOR_BOUNDS.killTimeoutMs) },
  // Request deadlines and the circuit breaker (docs/operations.md): off / 5 failures in 30 s, 10 s cool-down.
  { key: 'requestTimeoutMs', flag: 'request-timeout-ms', env: 'MCP_PROXY_REQUEST_TIMEOUT_MS', defaultValue: 0, ...ms(86_400_000) },
  // A bare flag (a boolean option in load-config), or true/false in the variable.
  { key: 'requestTimeoutResetsOnProgress', flag: 'request-timeout-resets-on-progress', env: 'MCP_PROXY_REQUEST_TIMEOUT_RESETS_ON_PROGRESS', defaultValue: false, parse: (s, t) => parseChoice(s, String(t), ['true', 'false'] as const) === 'true' },
  { key: 'circuitFailures', flag: 'circuit-failures', env: 'MCP_PROXY_CIRCUIT_FAILURES', defaultValue: 5, ...integer(0, 10_000) },
  { key: 'circuitWindowMs', flag: 'circuit-window-ms', env: 'MCP_PROXY_CIRCUIT_WINDOW_MS', defaultValue: 30_000, ...integer(1, 3_600_000) },
  { key: 'circuitCooldownMs', flag: 'circuit-cooldown-ms', env: 'MCP_PROXY_CIRCUIT_COOLDOWN_MS', defaultValue: 10_000, ...integer(1, 3_600_000) },
  { key: 'executableSha256', flag: 'executable-sha256', env: 'MCP_PROXY_EXECUTABLE_SHA256', defaultValue: undefined, parse: parseSha256 },
  // The server's own uid and gid (docs/governor.md); resolved and checked at start.
  { key: 'serverUser', flag: 'server-user', env: 'MCP_PROXY_SERVER_USER', defaultValue: undefined, parse: (s, t) => parseAccountName(s, t, 'user') },
  { key: 'serverGroup', flag: 'server-group', env: 'MCP_PROXY_SERVER_GROUP', defaultValue: undefined, parse: (s, t) => parseAccountName(s, t, 'group') },
  { key: 'policyFile', flag: 'policy', env: 'MCP_PROXY_POLICY', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'mode', flag: 'mode', env: 'MCP_PROXY_MODE', defaultValue: undefined, parse: (s, t) => parseChoice(s, t, ['observe', 'enforce'] as const) },
  { key: 'toolPins', flag: 'tool-pins', env: 'MCP_PROXY_TOOL_PINS', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'toolPinsUnknown', flag: 'tool-pins-unknown', env: 'MCP_PROXY_TOOL_PINS_UNKNOWN', defaultValue: 'deny', parse: (s, t) => parseChoice(s, t, ['deny', 'allow', 'observe'] as const) },
  { key: 'toolPinsState', flag: 'tool-pins-state', env: 'MCP_PROXY_TOOL_PINS_STATE', defaultValue: undefined, parse: (_s, t) => t },
  // Policy bundles from a control plane (docs/operations.md "Policy bundles"); --policy-allow-unsigned is a bare flag.
  { key: 'policyUrl', flag: 'policy-url', env: 'MCP_PROXY_POLICY_URL', defaultValue: undefined, parse: parseUrl },
  { key: 'policyPollMs', flag: 'policy-poll-ms', env: 'MCP_PROXY_POLICY_POLL_MS', defaultValue: 30_000, ...integer(1000, 86_400_000) },
  { key: 'policyPublicKey', flag: 'policy-public-key', env: 'MCP_PROXY_POLICY_PUBLIC_KEY', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'policyJwksUrl', flag: 'policy-jwks-url', env: 'MCP_PROXY_POLICY_JWKS_URL', defaultValue: undefined, parse: parseUrl },
  { key: 'policyAllowUnsigned', flag: 'policy-allow-unsigned', env: 'MCP_PROXY_POLICY_ALLOW_UNSIGNED', defaultValue: false, parse: (s, t) => parseChoice(s, String(t), ['true', 'false'] as const) === 'true' },
  { key: 'policyCacheDir', flag: 'policy-cache-dir', env: 'MCP_PROXY_POLICY_CACHE_DIR', defaultValue: undefined, parse: (_s, t) => t },
  // Execution reports and transcripts (docs/report.md).
  { key: 'reportFile', flag: 'report-file', env: 'MCP_PROXY_REPORT_FILE', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'reportFsync', flag: 'report-fsync', env: 'MCP_PROXY_REPORT_FSYNC', defaultValue: 'interval', parse: (s, t) => parseChoice(s, t, ['always', 'interval', 'never'] as const) },
  { key: 'reportFsyncIntervalMs', flag: 'report-fsync-interval-ms', env: 'MCP_PROXY_REPORT_FSYNC_INTERVAL_MS', defaultValue: 1000, ...integer(10, 60_000) },
  { key: 'reportRotateBytes', flag: 'report-rotate-bytes', env: 'MCP_PROXY_REPORT_ROTATE_BYTES', defaultValue: 0, parse: (s, t) => (t.trim() === '0' ? 0 : parseByteSize(s, t, 64 * 1024, 1024 ** 4)) },
  { key: 'reportRotateKeep', flag: 'report-rotate-keep', env: 'MCP_PROXY_REPORT_ROTATE_KEEP', defaultValue: 10, ...integer(1, 10_000) },
  { key: 'reportQueueLimit', flag: 'report-queue-limit', env: 'MCP_PROXY_REPORT_QUEUE_LIMIT', defaultValue: 4096, ...integer(1, 1_000_000) },
  { key: 'reportOnOverflow', flag: 'report-on-overflow', env: 'MCP_PROXY_REPORT_ON_OVERFLOW', defaultValue: 'block', parse: (s, t) => parseChoice(s, t, ['block', 'drop'] as const) },
  { key: 'reportArguments', flag: 'report-arguments', env: 'MCP_PROXY_REPORT_ARGUMENTS', defaultValue: 'digest', parse: (s, t) => parseChoice(s, t, ['digest', 'redacted'] as const) },
  { key: 'reportCheckpointEvery', flag: 'report-checkpoint-every', env: 'MCP_PROXY_REPORT_CHECKPOINT_EVERY', defaultValue: 1000, ...integer(1, 1_000_000) },
  { key: 'reportCheckpointIntervalMs', flag: 'report-checkpoint-interval-ms', env: 'MCP_PROXY_REPORT_CHECKPOINT_INTERVAL_MS', defaultValue: 1000, ...integer(0, 3_600_000) },
  { key: 'reportSigningKey', flag: 'report-signing-key', env: 'MCP_PROXY_REPORT_SIGNING_KEY', defaultValue: undefined, parse: (_s, t) => t },
  // The report file exported to an OpenTelemetry Collector from a committed cursor (docs/report.md "Export").
  { key: 'reportExport', flag: 'report-export', env: 'MCP_PROXY_REPORT_EXPORT', defaultValue: undefined, parse: parseUrl },
  { key: 'reportExportBatch', flag: 'report-export-batch', env: 'MCP_PROXY_REPORT_EXPORT_BATCH', defaultValue: 512, ...integer(1, 10_000) },
  { key: 'reportExportIntervalMs', flag: 'report-export-interval-ms', env: 'MCP_PROXY_REPORT_EXPORT_INTERVAL_MS', defaultValue: 500, ...integer(10, 60_000) },
  { key: 'reportExportTimeoutMs', flag: 'report-export-timeout-ms', env: 'MCP_PROXY_REPORT_EXPORT_TIMEOUT_MS', defaultValue: 10_000, ...integer(100, 600_000) },
  { key: 'reportExportSpoolWarnBytes', flag: 'report-export-spool-warn', env: 'MCP_PROXY_REPORT_EXPORT_SPOOL_WARN', defaultValue: 64 * 1024 * 1024, parse: (s, t) => parseByteSize(s, t, 64 * 1024, 1024 ** 4) },
  { key: 'recordFile', flag: 'record', env: 'MCP_PROXY_RECORD', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'recordArguments', flag: 'record-arguments', env: 'MCP_PROXY_RECORD_ARGUMENTS', defaultValue: 'redacted', parse: (s, t) => parseChoice(s, t, ['digest', 'redacted'] as const) },
  // Streamable HTTP northbound and its auth (docs/operations.md).
  { key: 'httpListen', flag: 'http', env: 'MCP_PROXY_HTTP_LISTEN', defaultValue: undefined, parse: parseListenAddress },
  { key: 'httpMaxSessions', flag: 'http-max-sessions', env: 'MCP_PROXY_HTTP_MAX_SESSIONS', defaultValue: 4, ...integer(1, 1000) },
  { key: 'httpIdleTimeoutMs', flag: 'http-idle-timeout-ms', env: 'MCP_PROXY_HTTP_IDLE_TIMEOUT_MS', defaultValue: 300_000, ...integer(1000, 86_400_000) },
  // A caller's share of the sessions (its own idle ones are evicted first), and of requests in flight (docs/operations.md).
  { key: 'httpMaxSessionsPerIdentity', flag: 'http-max-sessions-per-identity', env: 'MCP_PROXY_HTTP_MAX_SESSIONS_PER_IDENTITY', defaultValue: undefined, ...integer(1, 1000) },
  { key: 'httpMaxInFlightPerIdentity', flag: 'http-max-in-flight-per-identity', env: 'MCP_PROXY_HTTP_MAX_IN_FLIGHT_PER_IDENTITY', defaultValue: undefined, ...integer(1, 100_000) },
  // An auto-negotiating client probes with server/discover, then goes on statelessly within
  // milliseconds or opens a legacy session: 5 s keeps a stateless client's bursts on one server
  // and stops a probe's server soon after it was last used (docs/operations.md).
  { key: 'httpStatelessLingerMs', flag: 'http-stateless-linger-ms', env: 'MCP_PROXY_HTTP_STATELESS_LINGER_MS', defaultValue: 5000, ...integer(0, 86_400_000) },
  // Started servers waiting for new HTTP sessions (docs/operations.md, "Warm servers"); the default is per transport.
  { key: 'warmServers', flag: 'warm-servers', env: 'MCP_PROXY_WARM_SERVERS', defaultValue: undefined, ...integer(0, 64) },
  { key: 'warmServerReadyTimeoutMs', flag: 'warm-server-ready-timeout-ms', env: 'MCP_PROXY_WARM_SERVER_READY_TIMEOUT_MS', defaultValue: 10_000, ...integer(100, 3_600_000) },
  { key: 'httpMaxBodyBytes', flag: 'http-max-body-bytes', env: 'MCP_PROXY_HTTP_MAX_BODY_BYTES', defaultValue: undefined, parse: (s, t) => parseByteSize(s, t, 1024, 1024 ** 3) },
  { key: 'authTokenFile', flag: 'auth-token-file', env: 'MCP_PROXY_AUTH_TOKEN_FILE', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'authJwksUrl', flag: 'auth-jwks-url', env: 'MCP_PROXY_AUTH_JWKS_URL', defaultValue: undefined, parse: parseUrl },
  { key: 'authIssuer', flag: 'auth-issuer', env: 'MCP_PROXY_AUTH_ISSUER', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'authAudience', flag: 'auth-audience', env: 'MCP_PROXY_AUTH_AUDIENCE', defaultValue: undefined, parse: (_s, t) => t },
  { key: 'identityClaims', flag: 'identity-claims', env: 'MCP_PROXY_IDENTITY_CLAIMS', defaultValue: { tenantId: 'tenant_id', userId: 'sub', agentId: 'azp' }, parse: parseIdentityClaims },
  // The admin endpoint: /metrics, /healthz, /readyz, /version.
  { key: 'adminListen', flag: 'admin', env: 'MCP_PROXY_ADMIN_LISTEN', defaultValue: undefined, parse: parseListenAddress },
  // Traces to an OpenTelemetry Collector (docs/operations.md "Traces"); the injection is a bare flag, or true/false in the variable.
  { key: 'otlpTraces', flag: 'otlp-traces', env: 'MCP_PROXY_OTLP_TRACES', defaultValue: undefined, parse: parseUrl },
  { key: 'traceInject', flag: 'trace-inject', env: 'MCP_PROXY_TRACE_INJECT', defaultValue: false, parse: (s, t) => parseChoice(s, String(t), ['true', 'false'] as const) === 'true' },
  // Fleet-wide rate limits: the Redis that `store: redis` rules lease tokens from (docs/policy.md "rateLimit").
  { key: 'redisUrl', flag: 'redis-url', env: 'MCP_PROXY_REDIS_URL', defaultValue: undefined, parse: (source, text) => parseRedisUrl(source, text) },
  // Many servers behind one proxy, by namespace (docs/gateway.md); excludes --proxy.
  { key: 'serversFile', flag: 'servers', env: 'MCP_PROXY_SERVERS', defaultValue: undefined, parse: (_s, t) => t },
];

/** The policy file's `governor` section feeds these settings, below flags and environment. */
export const GOVERNOR_SECTION_KEYS = ['maxRestarts', 'restartBackoffMs', 'restartBackoffMaxMs', 'killTimeoutMs', 'drainTimeoutMs', 'executableSha256'] as const;

/** Settings that take several values: repeat the flag, or separate them with commas in the variable. */
export const LIST_SETTINGS = [
  { key: 'allow', flag: 'allow', env: 'MCP_PROXY_ALLOWED_PREFIXES' },
  { key: 'passEnv', flag: 'pass-env', env: 'MCP_PROXY_PASS_ENV' },
  { key: 'httpAllowedHosts', flag: 'http-allowed-host', env: 'MCP_PROXY_HTTP_ALLOWED_HOSTS' },
  { key: 'httpAllowedOrigins', flag: 'http-allowed-origin', env: 'MCP_PROXY_HTTP_ALLOWED_ORIGINS' },
] as const;

/** `redis://` or `rediss://` (TLS), with any user, password and database the Redis needs. */
function parseRedisUrl(source: string, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `${source} must be a redis:// or rediss:// URL, got ${JSON.stringify(text)}`);
  }
  return url.href;
}
