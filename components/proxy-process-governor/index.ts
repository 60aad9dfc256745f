/**
 * The process governor: starts the MCP server (no shell, own process group), restarts it with
 * backoff while holding the client's frames, and stops it with the MCP stdio shutdown sequence.
 * It knows framing, not MCP (session recovery hooks in through `onServerStart`). Callers MUST
 * stop every upstream they spawn.
 */
export { parseCommandLine } from './command-line.js';
export { spawnUpstream, type Upstream, type UpstreamExit, type SpawnUpstreamOptions } from './upstream.js';
export { stopUpstream, type StopTimeouts, type StopOutcome } from './stop.js';
export { childEnvironment, BASE_ENVIRONMENT, type ChildEnvironmentOptions } from './environment.js';
export { checkLaunch, type AllowRule, type LaunchContext, type LaunchDecision } from './allowlist.js';
export { resolveExecutable, untrustedPathEntries } from './executable.js';
export { pinExecutable, fileAccess, type ExecutablePin, type FileIdentity, type PinFileAccess, type PinRefusal } from './executable-pin.js';
export { backoffDelayMs, DEFAULT_BACKOFF_JITTER, DEFAULT_BACKOFF_MAX_MS, type BackoffOptions } from './backoff.js';
export { snapshotDescendants, isStillRunning, systemProcessTable, type ProcessEntry, type ProcessTable } from './process-tree.js';
export {
  DescendantWatch, DescendantScanner, sharedDescendantScanner, handOverDescendantWatch, takeDescendantWatch, sweepDescendants, DESCENDANT_SCAN_INTERVAL_MS, type DescendantWatchOptions, type SweepOptions, type SweepOutcome } from './descendants.js';
export { relayServerStderr, StderrTail } from './stderr-tail.js';
export { systemClock, type Clock } from '../clock/index.js';
export { createGovernor, type Governor, type GovernorEvent, type GovernorFatal, type GovernorOptions, type GovernorState, type RestartPolicy, type StartedServer } from './governor.js';
export {
  prepareServerAccount, resolveServerAccount, checkMaySwitch, checkSecretsUnreadable, effectiveCapabilities, parsePasswd, parseGroup, systemAccounts,
  type ServerAccount, type ServerAccountSettings, type AccountSystem, type ProxySecretFile,
} from './server-user.js';
