/**
 * Warm servers (--warm-servers): MCP server processes spawned ahead of the HTTP sessions that
 * will need them, handed to a new session's governor, replaced in the background, within the
 * proxy's process budget. See docs/operations.md, "Warm servers".
 */
export { startWarmPool, type WarmPool, type WarmPoolOptions } from './warm-pool.js';
