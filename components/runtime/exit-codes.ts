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
  /** EX_SOFTWARE: the server exited on its own while the client was still connected. */
  UPSTREAM_EXITED: 70,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
