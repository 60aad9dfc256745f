/**
 * The report files as the export's spool: `file.N` (oldest) … `file.1`, `file`, found by name
 * and told apart by identity (`<dev>:<ino>`, which a rename keeps). Reading is by whole lines
 * only: bytes after the last newline (a line still being written, or a torn one that the next
 * writer cuts off) are never read past, so the cursor always ends a complete line.
 */
import { open, stat } from 'node:fs/promises';

export interface SpoolFile {
  readonly path: string;
  readonly id: string;
  readonly size: number;
}

const NEWLINE = 0x0a;
/** Consecutive missing names after which no rotated file is looked for (rotate.ts closes gaps at open; this is a margin). */
const GAP_SCAN = 4;

const idOf = (stats: { dev: bigint; ino: bigint }): string => `${stats.dev}:${stats.ino}`;

async function statFile(path: string): Promise<SpoolFile | undefined> {
  try {
    const stats = await stat(path, { bigint: true });
    return stats.isFile() ? { path, id: idOf(stats), size: Number(stats.size) } : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The current file alone (the common case: the cursor is in it); undefined while it does not exist (between a rotation's rename and the new file). */
export const currentFile = (base: string): Promise<SpoolFile | undefined> => statFile(base);

/**
 * Every report file, oldest first: `base.N` … `base.1`, then `base`. Not bounded by
 * `--report-rotate-keep`: rotation keeps files the export still needs beyond it. A rotation in
 * progress (in this process: renames from the oldest down) leaves one name missing at a time,
 * and may show a file under two names: the scan goes on past one gap and keeps a file once.
 */
export async function listSpool(base: string): Promise<SpoolFile[]> {
  const files: SpoolFile[] = [];
  const seen = new Set<string>();
  for (let n = 0, missing = 0; missing < GAP_SCAN; n++) {
    const entry = await statFile(n === 0 ? base : `${base}.${n}`);
    if (entry === undefined) {
      missing += 1;
      continue;
    }
    missing = 0;
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    files.push(entry);
  }
  return files.reverse();
}

export interface ReadLines {
  /** Complete lines, without their newlines. */
  readonly lines: Buffer[];
  /** The offset just past the last line read (the cursor's offset once they are acknowledged). */
  readonly end: number;
}

/**
 * Up to `maxLines` complete lines of `file` from `offset`, reading about `maxBytes` (more only
 * when one line alone is longer). Returns no lines when there is no complete line after
 * `offset`; undefined when the file at `file.path` is no longer the file `file.id` names.
 */
export async function readLines(file: SpoolFile, offset: number, maxLines: number, maxBytes: number): Promise<ReadLines | undefined> {
  const handle = await open(file.path, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (handle === undefined) return undefined;
  try {
    const stats = await handle.stat({ bigint: true });
    // Renamed between the stat and the open: the caller looks for it again.
    if (idOf(stats) !== file.id) return undefined;
    const size = Number(stats.size);
    const lines: Buffer[] = [];
    let position = offset;
    let want = maxBytes;
    while (position < size && lines.length < maxLines) {
      const length = Math.min(want, size - position);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      for (let at = chunk.indexOf(NEWLINE); at >= 0 && lines.length < maxLines; at = chunk.indexOf(NEWLINE, start)) {
        if (at > start) lines.push(chunk.subarray(start, at));
        start = at + 1;
      }
      if (start === 0) {
        // No newline in what was read: a line longer than `want`, or the last line is not complete yet.
        if (position + bytesRead >= size) break;
        want *= 2;
        continue;
      }
      position += start;
      break;
    }
    return { lines, end: position };
  } finally {
    await handle.close();
  }
}
