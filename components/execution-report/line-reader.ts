/**
 * The lines of a file, read in chunks (a report file can be larger than memory wants), each
 * with its number and whether it ended with a newline: a last line without one is what a
 * writer killed mid-line leaves.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface FileLine {
  /** 1-based. */
  readonly number: number;
  readonly text: string;
  readonly terminated: boolean;
}

const CHUNK = 1024 * 1024;

/** Throws the file system's error when the file cannot be opened or read. */
export function* readLines(path: string): Generator<FileLine> {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer[] = [];
    let number = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, CHUNK, null);
      if (read === 0) break;
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, 0); nl >= 0 && nl < read; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl);
        const text = carry.length === 0 ? piece.toString('utf8') : Buffer.concat([...carry, piece]).toString('utf8');
        carry = [];
        number += 1;
        yield { number, text, terminated: true };
        start = nl + 1;
      }
      if (start < read) carry.push(Buffer.from(chunk.subarray(start, read)));
    }
    if (carry.length > 0) yield { number: number + 1, text: Buffer.concat(carry).toString('utf8'), terminated: false };
  } finally {
    closeSync(fd);
  }
}
