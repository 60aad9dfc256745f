import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { LineSplitter } from '../framing/index.js';

const MAX_STDERR_LINE_BYTES = 16 * 1024;

// The server's stderr is free-form logging: each line is re-logged on the proxy's stderr,
// tagged as the server's. Over-long lines are cut, not buffered.
export function relayServerStderr(stderr: Readable, logger: Logger): void {
  const log = logger.child({ source: 'server' });
  const splitter = new LineSplitter(MAX_STDERR_LINE_BYTES, {
    onLine: (line) => log.info(line.toString('utf8').trimEnd()),
    onOversized: (line) => log.info({ truncatedBytes: line.bytes }, `${line.head.toString('utf8').trimEnd()}…`),
  });
  stderr.on('data', (chunk: Buffer) => splitter.push(chunk));
  stderr.once('end', () => splitter.end());
  stderr.on('error', () => {});
}
