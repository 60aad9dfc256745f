import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where log lines go; default: stderr (fd 2). Never stdout: in --stdio mode it carries the protocol. */
  readonly destination?: DestinationStream | NodeJS.WritableStream;
}

// The proxy's logger: NDJSON on stderr. Synchronous writes: logging is off the frame path,
// and a log line written just before exit must not be lost.
export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    { level, base: { name: 'mcp-sidecar' } },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
