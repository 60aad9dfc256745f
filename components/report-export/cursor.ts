/**
 * The export cursor: how far the Collector has acknowledged the report file, kept in a small
 * file beside it (`<report file>.export-cursor`). It names the file by identity (device and
 * inode), not by name, so it survives rotation (`file` → `file.1` keeps the inode), and the
 * byte offset just past the last acknowledged line. Written only after a 2xx, atomically
 * (a temporary file, fsynced, renamed over the old one): a crash leaves the old cursor or the
 * new one, never half of one, so at most the unacknowledged batch is sent again.
 */
import { open, readFile, rename } from 'node:fs/promises';

export interface ExportCursor {
  /** `<dev>:<ino>` of the report file the offset is in. */
  readonly fileId: string;
  /** Bytes of that file acknowledged: always the end of a complete line. */
  readonly offset: number;
  /** `seq` and `digest` of the last acknowledged report (0 and null before the first). */
  readonly seq: number;
  readonly digest: string | null;
}

export const CURSOR_FORMAT = 'mcp-sidecar-export-cursor/1';

export const cursorPathOf = (reportFile: string): string => `${reportFile}.export-cursor`;

/** The committed cursor; undefined when there is none yet. Throws with the reason when the file exists but is not a cursor. */
export async function readCursor(path: string): Promise<ExportCursor | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value = JSON.parse(text) as Partial<ExportCursor> & { format?: unknown };
  const { fileId, offset, seq, digest } = value;
  if (value.format !== CURSOR_FORMAT || typeof fileId !== 'string' || !Number.isSafeInteger(offset) || (offset as number) < 0
    || !Number.isSafeInteger(seq) || (seq as number) < 0 || !(digest === null || typeof digest === 'string')) {
    throw new Error(`${path} is not an export cursor (${CURSOR_FORMAT})`);
  }
  return { fileId, offset: offset as number, seq: seq as number, digest };
}

/** Replaces the cursor file atomically; resolves once the new cursor is durable. */
export async function writeCursor(path: string, cursor: ExportCursor): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ format: CURSOR_FORMAT, ...cursor })}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
