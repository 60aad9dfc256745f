/**
 * `--report-export <url>`: the report file shipped to an OpenTelemetry Collector over OTLP/HTTP
 * (JSON), with nothing lost. The report file is the durable spool: the exporter tails it (and the
 * rotated files, by identity) from the committed cursor, sends bounded batches, retries every
 * failure with capped exponential backoff (p-retry; the waits on the injected clock), and moves
 * the cursor only after a 2xx. A crash, a restart or an outage of the Collector therefore costs
 * at most one batch sent twice; each record carries its report's digest to de-duplicate by.
 * Rotation keeps every file the cursor has not passed (`guardRotation`, rotate.ts), beyond
 * `--report-rotate-keep` if it must, with a warning.
 */
import { statSync } from 'node:fs';
import pRetry from 'p-retry';
import { Agent, request } from 'undici';
import { systemClock, type Clock } from '../clock/index.js';
import { guardRotation } from '../execution-report/rotate.js';
import { cursorPathOf, readCursor, writeCursor, type ExportCursor } from './cursor.js';
import { encodeLogsRequest, recordFields, type ExportRecord } from './otlp.js';
import { currentFile, listSpool, readLines, type SpoolFile } from './spool.js';

export interface ExportLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ReportExportOptions {
  /** The report file (`--report-file`); the cursor is `<file>.export-cursor`. */
  readonly file: string;
  /** The OTLP/HTTP base URL; records are POSTed to `<url>/v1/logs` (a URL already ending in `/v1/logs` is used as it is). */
  readonly url: string;
  /** Records per request, at most. */
  readonly batch: number;
  /** Bytes of report lines per request, about (one longer line still goes alone); default 1 MiB. */
  readonly batchBytes?: number;
  /** How often the file is read for new lines. */
  readonly intervalMs: number;
  /** One request's deadline (headers and body). */
  readonly timeoutMs: number;
  /** Unexported bytes past which a warning is logged. */
  readonly spoolWarnBytes: number;
  /** `--report-rotate-keep`, to say when rotation keeps files beyond it. */
  readonly rotateKeep: number;
  readonly logger: ExportLogger;
  /** Timers: the poll and the retry backoff. */
  readonly clock?: Clock;
  /** Backoff between attempts: `minMs · 2^(n−1)`, at most `maxMs`, ±20 % jitter; default 250 ms to 30 s. */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /** The jitter's source, in [0, 1); default Math.random (tests pass a seeded one). */
  readonly random?: () => number;
  /** At close, how long the last pass may try to ship what is left; default min(timeoutMs, 2000). */
  readonly finalFlushMs?: number;
  readonly serviceVersion?: string;
}

export interface ReportExportStats {
  /** Records the receiver acknowledged (a re-sent batch counts again). */
  exported: number;
  /** Requests that failed (a status other than 2xx, a network error, a timeout). */
  failures: number;
  /** Records the receiver acknowledged but declared rejected (OTLP partial success). */
  rejected: number;
  /** Bytes of report lines not acknowledged yet, as of the last poll. */
  lagBytes: number;
  /** Report files (the current one included) from the cursor's on: the unexported spool. */
  spoolFiles: number;
  /** The clock's time of the last acknowledgement (0: none yet). */
  lastSuccessMs: number;
}

export interface ReportExport {
  readonly stats: Readonly<ReportExportStats>;
  /** Starts the poll (every `intervalMs`). */
  start(): void;
  /** Ships every complete line present now, retrying until acknowledged or closed (the poll's work; tests call it). */
  exportPending(): Promise<void>;
  /** Stops the poll and retries, then one bounded pass for what is left (the closing checkpoint); the rest goes at the next start. */
  close(): Promise<void>;
}

const CLOSED = Symbol('closed');
// The poll and the backoff alone must not keep the process alive (the stop sequence closes the export).
const UNREFED_SYSTEM_CLOCK: Clock = {
  now: () => systemClock.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Reads the committed cursor and guards rotation; call before the report sink opens (it counts the rotated files). */
export async function createReportExport(options: ReportExportOptions): Promise<ReportExport> {
  const { file, logger, batch, intervalMs, timeoutMs, spoolWarnBytes, rotateKeep } = options;
  const clock = options.clock ?? UNREFED_SYSTEM_CLOCK;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? { minMs: 250, maxMs: 30_000 };
  const batchBytes = options.batchBytes ?? 1024 * 1024;
  const cursorPath = cursorPathOf(file);
  const endpoint = /\/v1\/logs\/?$/.test(new URL(options.url).pathname) ? options.url : new URL('v1/logs', options.url.endsWith('/') ? options.url : `${options.url}/`).href;
  const stats: ReportExportStats = { exported: 0, failures: 0, rejected: 0, lagBytes: 0, spoolFiles: 0, lastSuccessMs: 0 };

  let cursor: ExportCursor | undefined;
  try {
    cursor = await readCursor(cursorPath);
  } catch (error) {
    // Starting over re-sends, which the receiver de-duplicates; refusing to start would lose the reports to come.
    logger.error({ err: error, cursor: cursorPath }, 'report export: the cursor file is unreadable; exporting again from the oldest report file');
  }
  logger.info({ url: endpoint, file, cursor: cursor === undefined ? undefined : { offset: cursor.offset, seq: cursor.seq } }, 'report export: the report file is exported to the OTLP receiver');

  // The newest rotated file the export still needs: the one the cursor is in (by identity). Not
  // found (not started yet, or its file is gone): every file is kept.
  const releaseGuard = guardRotation(file, {
    oldestNeeded(existing) {
      const needed = cursor === undefined ? existing : cursorFileIndex(cursor.fileId, existing);
      if (needed >= rotateKeep) logger.warn({ file, kept: needed + 1, rotateKeep, lagBytes: stats.lagBytes }, 'report export: rotation keeps report files beyond --report-rotate-keep: the export has not passed them (is the receiver down?)');
      return needed;
    },
  });

  /** Where the file `fileId` is among `file`, `file.1` … `file.existing` (0: the current file); `existing` when it is none of them (every file is kept). */
  function cursorFileIndex(fileId: string, existing: number): number {
    for (let index = 0; index <= existing; index++) {
      try {
        const s = statSync(index === 0 ? file : `${file}.${index}`, { bigint: true });
        if (`${s.dev}:${s.ino}` === fileId) return index;
      } catch {
        // missing: look on
      }
    }
    return existing;
  }

  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, maxResponseSize: 1024 * 1024 });
  const closing = new AbortController();
  // Aborts a request already on its way: only once close's bound has passed, so a batch the
  // receiver is acknowledging as close begins is committed, not sent again at the next start.
  const inFlight = new AbortController();
  const finalFlushMs = options.finalFlushMs ?? Math.min(timeoutMs, 2000);
  let timer: unknown;
  let running: Promise<void> | undefined;
  let spoolWarned = false;
  let cursorMissing = 0;
  let failingSince: number | undefined;
  let failedAttempts = 0;

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    if (closing.signal.aborted) return resolve();
    const handle = clock.setTimeout(done, ms);
    function done(): void {
      closing.signal.removeEventListener('abort', cancel);
      resolve();
    }
    function cancel(): void {
      clock.clearTimeout(handle);
      resolve();
    }
    closing.signal.addEventListener('abort', cancel, { once: true });
  });

  async function commit(next: ExportCursor): Promise<void> {
    await writeCursor(cursorPath, next);
    cursor = next;
  }

  /** The file the cursor is in, moving the cursor to the next newer file when it has read one to its end; undefined: nothing to read yet. */
  async function position(): Promise<{ file: SpoolFile; offset: number } | undefined> {
    const current = await currentFile(file);
    if (cursor !== undefined && current !== undefined && current.id === cursor.fileId) {
      setLag(current.size - cursor.offset, 1);
      if (current.size < cursor.offset) return truncated(current);
      return { file: current, offset: cursor.offset };
    }
    const spool = await listSpool(file);
    if (spool.length === 0) return undefined;
    let at = cursor === undefined ? -1 : spool.findIndex((entry) => entry.id === cursor!.fileId);
    // Not found once may be a rotation caught between two renames: it counts as gone only when the next poll does not find it either.
    if (at < 0 && cursor !== undefined && ++cursorMissing < 2) return undefined;
    cursorMissing = 0;
    if (at < 0) {
      if (cursor !== undefined) logger.error({ file, cursor: cursorPath }, 'report export: the report file the cursor is in is gone; exporting from the oldest report file there is (reports in deleted files were not exported)');
      await commit({ fileId: spool[0]!.id, offset: 0, seq: cursor?.seq ?? 0, digest: cursor?.digest ?? null });
      at = 0;
    }
    let offset = cursor!.offset;
    if (spool[at]!.size < offset) return truncated(spool[at]!);
    // A rotated file read to its end: on to the next newer one (rotated files no longer grow).
    while (offset >= spool[at]!.size && at < spool.length - 1) {
      at += 1;
      offset = 0;
      await commit({ fileId: spool[at]!.id, offset: 0, seq: cursor!.seq, digest: cursor!.digest });
    }
    let lag = spool[at]!.size - offset;
    for (let i = at + 1; i < spool.length; i++) lag += spool[i]!.size;
    setLag(lag, spool.length - at);
    return { file: spool[at]!, offset };
  }

  async function truncated(entry: SpoolFile): Promise<{ file: SpoolFile; offset: number }> {
    logger.error({ file: entry.path, size: entry.size, offset: cursor!.offset }, 'report export: the report file is shorter than the cursor (truncated or replaced); exporting it again from its start');
    await commit({ fileId: entry.id, offset: 0, seq: cursor!.seq, digest: cursor!.digest });
    return { file: entry, offset: 0 };
  }

  function setLag(lagBytes: number, files: number): void {
    stats.lagBytes = Math.max(0, lagBytes);
    stats.spoolFiles = files;
    if (!spoolWarned && stats.lagBytes > spoolWarnBytes) {
      spoolWarned = true;
      logger.warn({ lagBytes: stats.lagBytes, spoolFiles: files, threshold: spoolWarnBytes, url: endpoint, failingSinceMs: failingSince === undefined ? undefined : clock.now() - failingSince },
        'report export: the unexported reports passed --report-export-spool-warn: the receiver is down or slower than the reports are written; they are kept in the report files until it acknowledges them');
    } else if (spoolWarned && stats.lagBytes <= spoolWarnBytes / 2) {
      spoolWarned = false;
      logger.info({ lagBytes: stats.lagBytes, threshold: spoolWarnBytes }, 'report export: the unexported reports are back under half of --report-export-spool-warn');
    }
  }

  async function post(body: string, signal: AbortSignal): Promise<void> {
    const response = await request(endpoint, { method: 'POST', body, dispatcher: agent, signal, headers: { 'content-type': 'application/json' } });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`the receiver answered ${response.statusCode}${text === '' ? '' : `: ${text.slice(0, 200)}`}`);
    }
    noteRejected(text);
  }

  const sendWithRetries = (body: string): Promise<void> => pRetry(() => post(body, inFlight.signal), {
    retries: Number.POSITIVE_INFINITY,
    // p-retry counts the attempts; the wait itself is ours, on the injected clock. Closing stops
    // further attempts (a throw here ends the retries) but lets the one in flight finish.
    minTimeout: 0,
    maxTimeout: 0,
    onFailedAttempt: async ({ error, attemptNumber }) => {
      if (closing.signal.aborted) throw error;
      failed(error, attemptNumber);
      await sleep(backoffMs(attemptNumber));
      if (closing.signal.aborted) throw error;
    },
  });

  const sendOnce = (signal: AbortSignal) => async (body: string): Promise<void> => {
    try {
      await post(body, signal);
    } catch (error) {
      failed(error, 1);
      throw error;
    }
  };

  // OTLP partial success: the receiver took the request but refused some records for good; sending them again would not change that.
  function noteRejected(text: string): void {
    if (text === '') return;
    let partial: { rejectedLogRecords?: unknown; errorMessage?: unknown } | undefined;
    try {
      partial = (JSON.parse(text) as { partialSuccess?: typeof partial }).partialSuccess;
    } catch {
      return;
    }
    const rejected = Number(partial?.rejectedLogRecords ?? 0);
    if (rejected > 0) {
      stats.rejected += rejected;
      logger.warn({ rejected, message: String(partial?.errorMessage ?? '').slice(0, 200) }, 'report export: the receiver rejected records of an acknowledged batch (OTLP partial success); they stay in the report file');
    }
  }

  const backoffMs = (attempt: number): number => {
    const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(base * (0.8 + 0.4 * random()));
  };

  function failed(error: unknown, attempt: number): void {
    stats.failures += 1;
    failedAttempts += 1;
    // Once when a burst of failures starts, then every tenth attempt: a long outage does not flood the log.
    if (failingSince === undefined) failingSince = clock.now();
    if (failedAttempts === 1 || failedAttempts % 10 === 0) {
      logger.warn({ err: error instanceof Error ? { message: error.message } : error, url: endpoint, attempt, failedAttempts, lagBytes: stats.lagBytes }, 'report export: sending to the receiver failed; retrying with backoff (nothing is lost: the reports wait in the report file)');
    }
  }

  function succeeded(): void {
    if (failingSince !== undefined) {
      logger.info({ url: endpoint, failedAttempts, outageMs: clock.now() - failingSince }, 'report export: the receiver acknowledges again');
      failingSince = undefined;
      failedAttempts = 0;
    }
    stats.lastSuccessMs = clock.now();
  }

  /** One batch: read, send, commit once acknowledged. Resolves false when there was nothing to send. */
  async function exportBatch(send: (body: string) => Promise<void>): Promise<boolean> {
    const at = await position();
    if (at === undefined) return false;
    const read = await readLines(at.file, at.offset, batch, batchBytes);
    if (read === undefined || read.lines.length === 0) return false;
    const records: ExportRecord[] = read.lines.map((bytes) => {
      const line = bytes.toString('utf8');
      return { line, fields: recordFields(line) };
    });
    await send(encodeLogsRequest(records, { serviceName: 'mcp-sidecar', serviceVersion: options.serviceVersion, reportFile: file }, clock.now()));
    succeeded();
    stats.exported += records.length;
    const lastReport = records.findLast((record) => record.fields.seq !== undefined)?.fields;
    await commit({ fileId: at.file.id, offset: read.end, seq: lastReport?.seq ?? cursor!.seq, digest: lastReport === undefined ? cursor!.digest : lastReport.digest ?? null });
    stats.lagBytes = Math.max(0, stats.lagBytes - (read.end - at.offset));
    return true;
  }

  async function exportPending(): Promise<void> {
    while (!closing.signal.aborted && await exportBatch(sendWithRetries));
  }

  function schedule(): void {
    timer = clock.setTimeout(() => {
      running = exportPending().catch((error: unknown) => {
        if (!closing.signal.aborted) logger.error({ err: error }, 'report export: the export pass failed; trying again at the next poll');
      }).finally(() => {
        running = undefined;
        if (!closing.signal.aborted) schedule();
      });
    }, intervalMs);
  }

  return {
    stats,
    start: schedule,
    exportPending,
    async close() {
      clock.clearTimeout(timer);
      closing.abort(CLOSED);
      const grace = setTimeout(() => inFlight.abort(CLOSED), finalFlushMs);
      await running?.catch(() => undefined);
      clearTimeout(grace);
      // One bounded pass without retries: the closing checkpoint reaches a receiver that is up; the rest waits for the next start.
      const send = sendOnce(AbortSignal.timeout(finalFlushMs));
      try {
        while (await exportBatch(send));
      } catch (error) {
        logger.warn({ err: error instanceof Error ? { message: error.message } : error, lagBytes: stats.lagBytes }, 'report export: stopping with reports not exported; they go at the next start');
      } finally {
        releaseGuard();
        await agent.close().catch(() => undefined);
      }
    },
  };
}
