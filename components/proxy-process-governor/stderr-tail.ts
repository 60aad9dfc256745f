import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { LineSplitter } from '../framing/index.js';
import { redactCutForLog, redactForLog } from '../logging/index.js';

const MAX_STDERR_LINE_BYTES = 16 * 1024;

/** The last lines a server wrote to stderr, for the log line that reports its crash. */
export class StderrTail {
  readonly #lines: string[] = [];
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#limit) this.#lines.shift();
  }

  lines(): string[] {
    return [...this.#lines];
  }
}

// The server's stderr is free-form logging: each line is re-logged on the proxy's stderr,
// tagged as the server's, and kept in the tail. Over-long lines are cut, not buffered. A
// server may print a secret (a connection string, a token): each line is redacted before it
// is logged or kept, the tail too (it is logged when the server dies). Returns how to stop
// relaying (a warm server's stderr passes to its session's governor): a partial line is logged.
export function relayServerStderr(stderr: Readable, logger: Logger, tail: StderrTail): () => void {
  const log = logger.child({ source: 'server' });
  const splitter = new LineSplitter(MAX_STDERR_LINE_BYTES, {
    onLine: (line) => {
      const text = redactForLog(line.toString('utf8').trimEnd());
      tail.push(text);
      log.info(text);
    },
    onOversized: (line) => {
      const text = `${redactCutForLog(line.head.toString('utf8').trimEnd())}…`;
      tail.push(text);
      log.info({ truncatedBytes: line.bytes }, text);
    },
  });
  const onData = (chunk: Buffer): void => splitter.push(chunk);
  const onEnd = (): void => splitter.end();
  const onError = (): void => {};
  stderr.on('data', onData);
  stderr.once('end', onEnd);
  stderr.on('error', onError);
  return () => {
    stderr.off('data', onData);
    stderr.off('end', onEnd);
    stderr.off('error', onError);
    splitter.end();
  };
}
