import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../components/logging/index.js';

/** A pino logger whose NDJSON lines are kept for assertions. */
export function captureLogs(level: 'debug' | 'info' | 'warn' = 'debug'): { logger: Logger; entries: Array<Record<string, unknown>>; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    get entries() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => lines.join('\n'),
  };
}
