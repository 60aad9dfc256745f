import { parseArgs } from 'node:util';
import { SidecarError } from '../errors/index.js';
import type { LogLevel } from '../logging/index.js';
import { parseCommandLine } from '../proxy-process-governor/command-line.js';
import type { LoadedPolicy, PolicyMode } from '../policy/index.js';
import type { PolicyBundleSettings } from '../policy-bundle/source.js';
import type { AllowRule, RestartPolicy, ServerAccountSettings } from '../proxy-process-governor/index.js';
import { isLoopbackHost, type IdentityClaims, type ListenAddress } from './parse-values.js';
import { GOVERNOR_SECTION_KEYS, LIST_SETTINGS, SCALAR_SETTINGS, type ArgumentsRecording, type ScalarSettings, type SettingSpec } from './settings.js';

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const BACKOFF_JITTER = 0.1;

/** The proxy's whole configuration, normalized and frozen: nothing downstream re-reads flags or env. */
export interface SidecarConfig {
  /** The server command as given, and its argv (parsed without a shell). */
  readonly command: string;
  readonly argv: readonly string[];
  /** stdio: the client on this process's stdin/stdout; http: Streamable HTTP on `http.listen`. */
  readonly transport: 'stdio' | 'http';
  readonly maxFrameBytes: number;
  readonly logLevel: LogLevel;
  /** Command prefixes allowed to start; empty means nothing may start. */
  readonly allow: readonly AllowRule[];
  readonly executableSha256: string | undefined;
  /** --server-user / --server-group: run the server as this user (names or numbers, resolved at start); undefined: as the proxy's. */
  readonly serverAccount: ServerAccountSettings | undefined;
  /** Environment the server gets beyond the base: names/patterns passed through, and values set. */
  readonly childEnv: { readonly passThrough: readonly string[]; readonly set: Readonly<Record<string, string>> };
  readonly restart: RestartPolicy;
  readonly drainTimeoutMs: number;
  readonly stdinCloseGraceMs: number;
  readonly killTimeoutMs: number;
  /** --request-timeout-ms: a client request's deadline (loadConfig sets it; 0 or undefined: none). */
  readonly requestTimeoutMs?: number;
  /** --request-timeout-resets-on-progress: the server's progress for a request restarts its deadline. */
  readonly requestTimeoutResetsOnProgress?: boolean;
  /** The upstream's circuit breaker (loadConfig sets it; failures 0 or undefined: off). */
  readonly circuit?: { readonly failures: number; readonly windowMs: number; readonly cooldownMs: number };
  /** The policy file as loaded at start (validated), or undefined: the built-in permissive policy. */
  readonly policy: LoadedPolicy | undefined;
  /** --mode / MCP_PROXY_MODE: replaces the policy's own mode. */
  readonly modeOverride: PolicyMode | undefined;
  /** --tool-pins: a lock file checked at run time, as one more rule after the policy's (or alone). */
  readonly toolPins?: { readonly lock: string; readonly unknown: 'deny' | 'allow' | 'observe'; readonly trustOnFirstUse?: boolean } | undefined;
  /** --policy-url: a signed policy bundle polled from a control plane; `policy` is then the fallback at start. */
  readonly policyBundle?: PolicyBundleSettings | undefined;
  /** Execution reports (--report-file); undefined: none are written. */
  readonly reports: ReportSettings | undefined;
  /** The transcript (--record); undefined: none is written. */
  readonly record: { readonly file: string; readonly arguments: ArgumentsRecording } | undefined;
  /** Streamable HTTP northbound (--http); undefined in stdio mode. */
  readonly http: HttpSettings | undefined;
  /** How HTTP clients authenticate; undefined: they do not (loopback only). */
  readonly auth: AuthSettings | undefined;
  /** The admin endpoint (--admin); undefined: off. */
  readonly admin: ListenAddress | undefined;
  /** --otlp-traces: spans to an OpenTelemetry Collector, and --trace-inject; undefined: no traces (nothing of OpenTelemetry loads). */
  readonly traces?: { readonly url: string; readonly inject: boolean } | undefined;
  /** The Redis of `rateLimit` rules with `store: redis` (--redis-url); undefined: none, and such a rule does not compile. */
  readonly redisUrl: string | undefined;
  /** --servers: the gateway's services (docs/gateway.md); then `command` names the file and `argv` is empty. Undefined: one server, --proxy. */
  readonly gateway?: GatewaySettings | undefined;
}

/** The gateway's services, each resolved against the proxy-wide settings it overrides. */
export interface GatewaySettings {
  /** The servers file as given. */
  readonly source: string;
  readonly separator: string;
  readonly services: readonly GatewayServiceSettings[];
}

export interface GatewayServiceSettings {
  /** The namespace. */
  readonly name: string;
  readonly command: string;
  readonly argv: readonly string[];
  /** --pass-env and --set-env, with the service's own added (its `env` wins). */
  readonly childEnv: { readonly passThrough: readonly string[]; readonly set: Readonly<Record<string, string>> };
  /** Its `serverUser`, else --server-user (with --server-group). */
  readonly serverAccount: ServerAccountSettings | undefined;
  readonly restart: RestartPolicy;
  readonly killTimeoutMs: number;
  /** Its `timeouts.requestMs`, else --request-timeout-ms (0: none). */
  readonly requestTimeoutMs: number;
  /** Over --http: its servers started ahead of sessions. */
  readonly warmServers: number;
}

export interface ReportSettings {
  readonly file: string;
  readonly fsync: 'always' | 'interval' | 'never';
  readonly fsyncIntervalMs: number;
  /** 0: never rotate. */
  readonly rotateBytes: number;
  readonly rotateKeep: number;
  readonly queueLimit: number;
  readonly onOverflow: 'block' | 'drop';
  readonly arguments: ArgumentsRecording;
  /** A checkpoint (a link of the chain that a signature covers, with all before it) after this many reports. */
  readonly checkpointEvery: number;
  /** With a signing key: a checkpoint this long after the first report no checkpoint covers; 0: none by time. */
  readonly checkpointIntervalMs: number;
  /** A PEM file with an Ed25519 private key: each checkpoint is signed. */
  readonly signingKeyFile: string | undefined;
  /** --report-export: the report file shipped to an OTLP/HTTP receiver; undefined: not exported. */
  readonly export?: ReportExportSettings | undefined;
}

export interface ReportExportSettings {
  /** The OTLP/HTTP base URL; records go to `<url>/v1/logs`. */
  readonly url: string;
  /** Records per request, at most. */
  readonly batch: number;
  /** How often the file is read for new lines. */
  readonly intervalMs: number;
  /** One request's deadline (a stalled receiver). */
  readonly timeoutMs: number;
  /** Unexported bytes past which a warning is logged. */
  readonly spoolWarnBytes: number;
}

export interface HttpSettings {
  readonly listen: ListenAddress;
  readonly path: '/mcp';
  readonly maxSessions: number;
  /** Sessions one caller (a JWT's full identity) may hold; loadConfig sets it (default half of maxSessions, at least 1); undefined: maxSessions. */
  readonly maxSessionsPerIdentity?: number;
  /** Requests one caller may have in flight at once over HTTP; undefined: no limit. */
  readonly maxInFlightPerIdentity?: number | undefined;
  readonly idleTimeoutMs: number;
  /**
   * A stateless (2026-07-28) backend with nothing in flight is stopped after this long unused
   * (instead of `idleTimeoutMs`). loadConfig always sets it (default 5000); undefined: `idleTimeoutMs`.
   */
  readonly statelessLingerMs?: number;
  readonly maxBodyBytes: number;
  /** --warm-servers: started servers waiting for new sessions (loadConfig sets it, default 1); undefined: none. */
  readonly warmServers?: number;
  /** --warm-server-ready-timeout-ms: how long a warm server may take to answer the pool's ping. */
  readonly warmServerReadyTimeoutMs?: number;
  /** Host header values accepted (host or host:port); empty: the listen address and, on loopback, localhost names. */
  readonly allowedHosts: readonly string[];
  /** Origin header values accepted; empty: requests with an Origin are accepted only from the same loopback host. */
  readonly allowedOrigins: readonly string[];
}

export type AuthSettings =
  | { readonly kind: 'token'; readonly tokenFile: string; readonly identityClaims: IdentityClaims }
  | { readonly kind: 'jwt'; readonly jwksUrl: string; readonly issuer: string; readonly audience: string; readonly identityClaims: IdentityClaims };

export type CliRequest =
  | { readonly kind: 'run'; readonly config: SidecarConfig }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

const OPTIONS = {
  proxy: { type: 'string' },
  stdio: { type: 'boolean' },
  'set-env': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...Object.fromEntries(SCALAR_SETTINGS.map((s) => [s.flag, { type: 'string' }])),
  // A bare flag: parseArgs gives `true`, which the setting reads as the text "true".
  'request-timeout-resets-on-progress': { type: 'boolean' },
  'trace-inject': { type: 'boolean' },
  'policy-allow-unsigned': { type: 'boolean' },
  ...Object.fromEntries(LIST_SETTINGS.map((s) => [s.flag, { type: 'string', multiple: true }])),
} as const satisfies NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

type FlagValues = Record<string, string | string[] | boolean | undefined>;

type FileLayer = Partial<Record<keyof ScalarSettings, unknown>>;

// Flags win over environment variables, which win over the policy file, which wins over defaults.
function readSetting(spec: SettingSpec, flags: FlagValues, env: NodeJS.ProcessEnv, file: FileLayer): unknown {
  const flag = flags[spec.flag] as string | undefined;
  const fromEnv = env[spec.env];
  if (flag !== undefined) return spec.parse(`--${spec.flag}`, flag);
  if (fromEnv !== undefined && fromEnv !== '') return spec.parse(spec.env, fromEnv);
  return file[spec.key] ?? spec.defaultValue;
}

function readScalars(flags: FlagValues, env: NodeJS.ProcessEnv, file: FileLayer = {}): ScalarSettings {
  const settings: Record<string, unknown> = {};
  for (const spec of SCALAR_SETTINGS) settings[spec.key] = readSetting(spec, flags, env, file);
  return settings as unknown as ScalarSettings;
}

function fileLayerOf(policy: LoadedPolicy | undefined): FileLayer {
  const layer: FileLayer = {};
  if (policy === undefined) return layer;
  for (const key of GOVERNOR_SECTION_KEYS) layer[key] = policy.document.governor[key];
  return layer;
}

function readList(flags: FlagValues, env: NodeJS.ProcessEnv, spec: (typeof LIST_SETTINGS)[number], fromFile: readonly string[] | undefined, fileName: string | undefined): Array<{ value: string; source: string }> {
  const fromFlags = flags[spec.flag] as string[] | undefined;
  if (fromFlags !== undefined) return fromFlags.map((value, i) => ({ value, source: `--${spec.flag} #${i + 1}` }));
  const fromEnv = (env[spec.env] ?? '').split(',').map((value) => value.trim()).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.map((value, i) => ({ value, source: `${spec.env}[${i}]` }));
  return (fromFile ?? []).map((value, i) => ({ value, source: `${fileName} governor.${spec.key}[${i}]` }));
}

function readAllowRules(flags: FlagValues, env: NodeJS.ProcessEnv, policy: LoadedPolicy | undefined): AllowRule[] {
  return readList(flags, env, LIST_SETTINGS[0], policy?.document.governor.allow, policy?.source).map(({ value, source }) => {
    try {
      parseCommandLine(value);
    } catch (error) {
      throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `${source} ${JSON.stringify(value)} is not a command prefix: ${(error as Error).message}`);
    }
    return Object.freeze({ prefix: value, source });
  });
}

function readSetEnv(values: string[] | undefined): Record<string, string> {
  const set: Record<string, string> = {};
  for (const entry of values ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(entry);
    if (!match) throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--set-env must be NAME=VALUE, got ${JSON.stringify(entry)}`);
    set[match[1]!] = match[2]!;
  }
  return set;
}

function readAuth(s: ScalarSettings): AuthSettings | undefined {
  const identityClaims = s.identityClaims;
  if (s.authTokenFile !== undefined && s.authJwksUrl !== undefined) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--auth-token-file and --auth-jwks-url exclude each other: choose a static token or JWTs');
  }
  if (s.authTokenFile !== undefined) return Object.freeze({ kind: 'token' as const, tokenFile: s.authTokenFile, identityClaims });
  if (s.authJwksUrl === undefined) {
    if (s.authIssuer !== undefined || s.authAudience !== undefined) throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--auth-issuer and --auth-audience need --auth-jwks-url');
    return undefined;
  }
  if (s.authIssuer === undefined || s.authAudience === undefined) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--auth-jwks-url needs --auth-issuer and --auth-audience: a token is accepted only from the issuer you name, for this audience');
  }
  return Object.freeze({ kind: 'jwt' as const, jwksUrl: s.authJwksUrl, issuer: s.authIssuer, audience: s.authAudience, identityClaims });
}

function readServerAccount(s: ScalarSettings): ServerAccountSettings | undefined {
  if (s.serverUser === undefined) {
    if (s.serverGroup !== undefined) {
      throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--server-group needs --server-user: under the proxy\'s own uid, the server could still read the proxy\'s secrets', {
        hint: 'give --server-user <name|uid> too (its primary group is used when --server-group is left out)',
      });
    }
    return undefined;
  }
  return Object.freeze({ user: s.serverUser, group: s.serverGroup });
}

/** --servers: the file (loaded on demand: YAML and zod stay off a one-server start), each service over the proxy-wide settings. */
async function readGateway(file: string, config: SidecarConfig, s: ScalarSettings): Promise<GatewaySettings> {
  if (s.executableSha256 !== undefined) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--executable-sha256 pins the one server of --proxy; with --servers each service has its own executable', { hint: 'leave out --executable-sha256 with --servers' });
  }
  const { loadServersFile } = await import('../gateway/index.js');
  const servers = loadServersFile(file);
  const services = servers.servers.map((spec): GatewayServiceSettings => {
    const backoffBaseMs = spec.restart?.backoffMs ?? config.restart.backoffBaseMs;
    return Object.freeze({
      name: spec.name,
      command: spec.command,
      argv: Object.freeze(parseCommandLine(spec.command)),
      childEnv: Object.freeze({
        passThrough: Object.freeze([...config.childEnv.passThrough, ...(spec.passEnv ?? [])]),
        set: Object.freeze({ ...config.childEnv.set, ...spec.env }),
      }),
      serverAccount: spec.serverUser === undefined ? config.serverAccount : Object.freeze({ user: spec.serverUser, group: undefined }),
      restart: Object.freeze({
        ...config.restart,
        maxRestarts: spec.restart?.maxRestarts ?? config.restart.maxRestarts,
        backoffBaseMs,
        backoffMaxMs: Math.max(backoffBaseMs, spec.restart?.backoffMaxMs ?? config.restart.backoffMaxMs),
      }),
      killTimeoutMs: spec.timeouts?.killMs ?? config.killTimeoutMs,
      requestTimeoutMs: spec.timeouts?.requestMs ?? config.requestTimeoutMs ?? 0,
      // Over --http, as for one server: --warm-servers (default 1); with --stdio none (the stdio session never takes one).
      warmServers: spec.warm ?? config.http?.warmServers ?? 0,
    });
  });
  return Object.freeze({ source: file, separator: servers.separator, services: Object.freeze(services) });
}

/** Reads the command line and environment into a config, or throws a SidecarError that says what to fix. */
export async function loadConfig(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRequest> {
  let flags: FlagValues;
  try {
    flags = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    throw new SidecarError('SIDECAR_ERR_USAGE', (error as Error).message, { hint: 'run mcp-sidecar --help' });
  }
  if (flags.help) return { kind: 'help' };
  if (flags.version) return { kind: 'version' };
  const serversFile = readSetting(SCALAR_SETTINGS.find((spec) => spec.key === 'serversFile')!, flags, env, {}) as string | undefined;
  if (flags.proxy !== undefined && serversFile !== undefined) {
    throw new SidecarError('SIDECAR_ERR_USAGE', '--proxy and --servers exclude each other: one server, or a servers file of several', { hint: 'run mcp-sidecar --help' });
  }
  const command = (flags.proxy as string | undefined) ?? (serversFile === undefined ? undefined : `--servers ${serversFile}`);
  if (command === undefined) {
    throw new SidecarError('SIDECAR_ERR_USAGE', '--proxy "<server command>" is required', { hint: 'run mcp-sidecar --help (or give --servers <file> for several servers)' });
  }

  // The policy file is read first: its governor section is a settings layer of its own.
  const policyFile = readSetting(SCALAR_SETTINGS.find((spec) => spec.key === 'policyFile')!, flags, env, {}) as string | undefined;
  // Loaded on demand: the policy machinery (YAML, schema) stays off a policy-less cold start.
  const policy = policyFile === undefined ? undefined : (await (await import('../policy/index.js')).loadPolicyDocument()).loadPolicyFile(policyFile);
  const s = readScalars(flags, env, fileLayerOf(policy));
  const config: SidecarConfig = {
    command,
    argv: Object.freeze(serversFile === undefined ? parseCommandLine(command) : []),
    transport: s.httpListen === undefined ? 'stdio' : 'http',
    maxFrameBytes: s.maxFrameBytes,
    logLevel: s.logLevel,
    allow: Object.freeze(readAllowRules(flags, env, policy)),
    executableSha256: s.executableSha256,
    serverAccount: readServerAccount(s),
    childEnv: Object.freeze({
      passThrough: Object.freeze(readList(flags, env, LIST_SETTINGS[1], policy?.document.governor.passEnv, policy?.source).map((entry) => entry.value)),
      set: Object.freeze({ ...policy?.document.governor.setEnv, ...readSetEnv(flags['set-env'] as string[] | undefined) }),
    }),
    restart: Object.freeze({
      maxRestarts: s.maxRestarts,
      backoffBaseMs: s.restartBackoffMs,
      backoffMaxMs: Math.max(s.restartBackoffMs, s.restartBackoffMaxMs),
      backoffJitter: BACKOFF_JITTER,
      stableAfterMs: s.restartResetMs,
      queueLimit: s.restartQueueLimit,
      queueTimeoutMs: s.restartQueueTimeoutMs,
    }),
    drainTimeoutMs: s.drainTimeoutMs,
    stdinCloseGraceMs: s.stdinCloseGraceMs,
    killTimeoutMs: s.killTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    requestTimeoutResetsOnProgress: s.requestTimeoutResetsOnProgress,
    circuit: Object.freeze({ failures: s.circuitFailures, windowMs: s.circuitWindowMs, cooldownMs: s.circuitCooldownMs }),
    policy,
    modeOverride: s.mode,
    toolPins: s.toolPins === undefined ? undefined : Object.freeze({ lock: s.toolPins, unknown: s.toolPinsUnknown }),
    // --tool-pins-state: the state file read as a lock that grows (`unknown` does not apply: an unknown definition is trusted).
    ...(s.toolPinsState !== undefined && { toolPins: Object.freeze({ lock: s.toolPinsState, unknown: 'deny' as const, trustOnFirstUse: true }) }),
    policyBundle: s.policyUrl === undefined ? undefined : Object.freeze({
      url: s.policyUrl, pollMs: s.policyPollMs, publicKeyFile: s.policyPublicKey, jwksUrl: s.policyJwksUrl, allowUnsigned: s.policyAllowUnsigned, cacheDir: s.policyCacheDir,
    }),
    reports: s.reportFile === undefined ? undefined : Object.freeze({
      file: s.reportFile,
      fsync: s.reportFsync,
      fsyncIntervalMs: s.reportFsyncIntervalMs,
      rotateBytes: s.reportRotateBytes,
      rotateKeep: s.reportRotateKeep,
      queueLimit: s.reportQueueLimit,
      onOverflow: s.reportOnOverflow,
      arguments: s.reportArguments,
      checkpointEvery: s.reportCheckpointEvery,
      checkpointIntervalMs: s.reportCheckpointIntervalMs,
      signingKeyFile: s.reportSigningKey,
      export: s.reportExport === undefined ? undefined : Object.freeze({ url: s.reportExport, batch: s.reportExportBatch, intervalMs: s.reportExportIntervalMs, timeoutMs: s.reportExportTimeoutMs, spoolWarnBytes: s.reportExportSpoolWarnBytes }),
    }),
    record: s.recordFile === undefined ? undefined : Object.freeze({ file: s.recordFile, arguments: s.recordArguments }),
    http: s.httpListen === undefined ? undefined : Object.freeze({
      listen: s.httpListen,
      path: '/mcp' as const,
      maxSessions: s.httpMaxSessions,
      maxSessionsPerIdentity: s.httpMaxSessionsPerIdentity ?? Math.max(1, Math.floor(s.httpMaxSessions / 2)),
      maxInFlightPerIdentity: s.httpMaxInFlightPerIdentity,
      idleTimeoutMs: s.httpIdleTimeoutMs,
      statelessLingerMs: s.httpStatelessLingerMs,
      maxBodyBytes: s.httpMaxBodyBytes ?? s.maxFrameBytes,
      warmServers: s.warmServers ?? 1,
      warmServerReadyTimeoutMs: s.warmServerReadyTimeoutMs,
      allowedHosts: Object.freeze(readList(flags, env, LIST_SETTINGS[2], undefined, undefined).map((entry) => entry.value)),
      allowedOrigins: Object.freeze(readList(flags, env, LIST_SETTINGS[3], undefined, undefined).map((entry) => entry.value)),
    }),
    auth: readAuth(s),
    admin: s.adminListen,
    traces: s.otlpTraces === undefined ? undefined : Object.freeze({ url: s.otlpTraces, inject: s.traceInject }),
    redisUrl: s.redisUrl,
  };
  if (serversFile !== undefined) Object.assign(config, { gateway: await readGateway(serversFile, config, s) });
  if (s.toolPins !== undefined && s.toolPinsState !== undefined) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--tool-pins and --tool-pins-state exclude each other: pins come from a reviewed lock file or are trusted on first use, not both', { hint: 'give one of them' });
  }
  if (s.reportExport !== undefined && s.reportFile === undefined) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--report-export ships the report file, and no --report-file is given', { hint: 'give --report-file <path>: it is the export\'s durable spool' });
  }
  if (config.policyBundle !== undefined && config.policyBundle.publicKeyFile === undefined && config.policyBundle.jwksUrl === undefined && !config.policyBundle.allowUnsigned) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--policy-url needs a key to check the bundles it serves', { hint: 'give --policy-public-key <pem> or --policy-jwks-url <url> (or, to trust the transport alone, --policy-allow-unsigned)' });
  }
  if (s.traceInject && s.otlpTraces === undefined) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', '--trace-inject needs --otlp-traces: the server would continue spans the proxy never exports', { hint: 'give --otlp-traces <Collector URL>' });
  }
  if (flags.stdio && config.http !== undefined) {
    throw new SidecarError('SIDECAR_ERR_USAGE', '--stdio and --http exclude each other: the client speaks either over stdin/stdout or over HTTP', { hint: 'run mcp-sidecar --help' });
  }
  if (config.http !== undefined && config.auth === undefined && !isLoopbackHost(config.http.listen.host)) {
    throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `--http ${config.http.listen.host}:${config.http.listen.port} is reachable from other machines, and no authentication is configured`, {
      hint: 'give --auth-token-file or --auth-jwks-url with --auth-issuer and --auth-audience, or listen on 127.0.0.1',
    });
  }
  return { kind: 'run', config: Object.freeze(config) };
}
