/**
 * Session recovery: a legacy-era MCP session carried across a restart of its server (the
 * client's initialize replayed to the new server, then `list_changed`). The governor knows
 * nothing of MCP; this wraps its channel and hooks its server starts.
 */
export { createSessionRecovery, type RecoveredSession, type SessionRecovery, type SessionRecoveryOptions } from './session-recovery.js';
