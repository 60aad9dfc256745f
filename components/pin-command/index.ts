/**
 * `mcp-sidecar pin`: the lock file's commands (docs/policy.md "Tool-definition pins"). `pin`
 * lists a server started through the governor and writes its lock; `pin diff` compares a lock
 * with the server now or with another lock (exit 1 on a change: for CI); `pin approve` accepts a
 * pending change in a trust-on-first-use state file. Loaded only when asked for.
 */
export { formatDiff, PIN_EXIT, PIN_USAGE, runPinCommand, type PinCommandIo } from './command.js';
export { listServer, MAX_LIST_PAGES, PinServerError, PinUsageError, type ListedServer } from './list-server.js';
