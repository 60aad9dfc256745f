/**
 * The process governor: starts the MCP server (no shell, own process group) and stops it
 * with the MCP stdio shutdown sequence. Callers MUST stop every upstream they spawn.
 */
export { parseCommandLine } from './command-line.js';
export { spawnUpstream, type Upstream, type UpstreamExit, type SpawnUpstreamOptions } from './upstream.js';
export { stopUpstream, type StopTimeouts, type StopOutcome } from './stop.js';
export { childEnvironment } from './environment.js';
