import { createRequire } from 'node:module';
import type { DestinationStream, Logger } from 'pino';
import { redactLogRecord } from './redact.js';

export type { Logger } from 'pino';
export { loadLogRedactor, redactCutForLog, redactForLog, WITHHELD } from './redact.js';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where log lines go; default: stderr (fd 2). Never stdout: in --stdio mode it carries the protocol. */
  readonly destination?: DestinationStream | NodeJS.WritableStream;
}

type Pino = typeof import('pino');
type LevelMethod = (typeof LEVEL_METHODS)[number];

const LEVEL_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const noop = (): void => {};

// pino (and what it requires) costs about 14 ms and 7 MB at startup, which is most of the
// proxy's own share of a cold start: it is loaded on the first line actually logged.
let pinoModule: Pino | undefined;
function loadPino(): Pino {
  return (pinoModule ??= createRequire(import.meta.url)('pino') as Pino);
}

// A logger whose methods for disabled levels are no-ops that never load pino; the first
// enabled call (or any other use of the logger) creates the real one.
function lazyLogger(level: string, create: () => Logger): Logger {
  let real: Logger | undefined;
  const get = (): Logger => (real ??= create());
  const methods: Partial<Record<LevelMethod | 'child', unknown>> = {};
  const bind = (threshold: number): void => {
    for (const name of LEVEL_METHODS) {
      methods[name] = LEVEL_VALUES[name]! >= threshold
        ? (...args: unknown[]) => {
          const logger = get();
          (logger[name] as (...a: unknown[]) => void).apply(logger, args);
        }
        : noop;
    }
  };
  bind(LEVEL_VALUES[level] ?? LEVEL_VALUES.info!);
  methods.child = (bindings: Record<string, unknown>, options?: { level?: string }) =>
    lazyLogger(options?.level ?? (real ? real.level : level), () => get().child(bindings, options));
  return new Proxy(methods, {
    get: (target, property) => (property in target ? target[property as LevelMethod] : Reflect.get(get(), property, get())),
    set: (_target, property, value) => {
      Reflect.set(get(), property, value);
      if (property === 'level') bind(LEVEL_VALUES[get().level] ?? 0);
      return true;
    },
    has: (_target, property) => Reflect.has(get(), property),
  }) as unknown as Logger;
}

// The proxy's logger: NDJSON on stderr. Synchronous writes: logging is off the frame path,
// and a log line written just before exit must not be lost. Fields that quote what a peer
// wrote (`line`, `detail`, `stderrTail`, `text`) are redacted in every record (redact.ts),
// whoever logs them; pino's own `redact` paths only blank a field, which would lose the line.
export function createLogger({ level, destination }: LoggerOptions): Logger {
  return lazyLogger(level, () => {
    const pino = loadPino();
    return pino({ level, base: { name: 'mcp-sidecar' }, formatters: { log: redactLogRecord } }, destination ?? pino.destination({ fd: 2, sync: true }));
  });
}
