import type { ErrorCode } from '../errors/index.js';

// The proxy's exit codes (sysexits.h where one fits). docs/operations.md lists the same.
export const EXIT_CODES = {
  /** Stopped cleanly: the client closed its input, or a signal asked the proxy to stop. */
  OK: 0,
  /** A bug: an unexpected exception inside the proxy. */
  INTERNAL: 1,
  /** The command line or environment is wrong (including shell syntax in --proxy). */
  USAGE: 2,
  /** EX_UNAVAILABLE: the server command could not be started at all (not found, not executable). */
  UPSTREAM_UNAVAILABLE: 69,
  /** EX_SOFTWARE: the server kept exiting on its own, past the restart bound. */
  UPSTREAM_FAILED: 70,
  /** EX_CANTCREAT: the report file or transcript cannot be written at start (missing directory, no permission, disk full). */
  CANT_CREATE: 73,
  /** EX_CONFIG: the allowlist refused the command (or is empty), the policy file is invalid, or the server exited with 78. */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit code for a local error that stops the proxy before it runs. */
export function exitCodeForError(code: ErrorCode): ExitCode {
  switch (code) {
    case 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED':
    case 'SIDECAR_ERR_POLICY_INVALID':
    case 'SIDECAR_ERR_POLICY_UNREADABLE':
    case 'SIDECAR_ERR_POLICY_BUNDLE_KEY':
    case 'SIDECAR_ERR_POLICY_NONE':
    case 'SIDECAR_ERR_REPORT_KEY':
      return EXIT_CODES.CONFIG;
    case 'SIDECAR_ERR_REPORT_SINK':
      return EXIT_CODES.CANT_CREATE;
    case 'SIDECAR_ERR_UPSTREAM_SPAWN':
      return EXIT_CODES.UPSTREAM_UNAVAILABLE;
    default:
      return EXIT_CODES.USAGE;
  }
}
