/**
 * Tool-definition pins (against "rug pulls": a server that changes what its tools say after they
 * were approved). A pin is a SHA-256 over the canonical JSON of what a model reads of a tool,
 * prompt or resource template (PINNED_FIELDS); a lock file holds every pin and one digest per
 * list (a payload split across several descriptions changes the list's digest). The lock is
 * written by `mcp-sidecar pin`, compared by `pin diff`, and checked at run time against every
 * list response (`--tool-pins`). See docs/policy.md "Tool-definition pins".
 */
export {
  DEFINITION_KINDS, describeChanges, diffDefinitions, KEY_FIELD, LIST_OF, listDigest, pinDefinition, PINNED_FIELDS, sha256,
  type DefinitionKind, type FieldChange, type PinnedDefinition,
} from './pins.js';
export {
  buildLock, diffLocks, formatLock, LOCK_FORMAT, lockDigest, parseLock, PinIndex, PinLockError,
  type ListedDefinitions, type LockDiff, type PinLock, type PinVerdict,
} from './lock-file.js';
export { approvePending, formatState, parseState, PinState, qualifiedKey, type PinStateOptions } from './state-file.js';
