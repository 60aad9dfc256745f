// `--record <file>`: the transcript writer. `record` only queues the frame (a push and, once per
// turn of the event loop, a setImmediate): parsing, redacting and serializing happen later in
// the writer's loop, so the frame path pays nothing for them but the wait for its own turn.
// One write in flight at a time, with everything queued meanwhile joined into it. The queue is
// bounded by bytes: past the bound, frames are dropped (counted), and a `gap` line in the file
// says how many, so a replay knows the transcript is incomplete. Frames that cannot be
// serialized or written are counted (`stats.failures`) and logged once per burst with their
// count (failure-bursts.ts); they never reach the proxy.
import { close, fstatSync, ftruncate, write } from 'node:fs';
import { systemClock } from '../clock/index.js';
import { loadSecretRedactor } from '../policy/index.js';
import { TranscriptFailureBursts } from './failure-bursts.js';
import { frameLine, gapLine, headerLine, policyLine, type RedactSecrets } from './record-line.js';
import { openTranscriptFile } from './transcript-file.js';
import type { RecordedPolicy, TranscriptFrame, TranscriptOptions, TranscriptStats, TranscriptWriter } from './types.js';

const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
// Frames are serialized (parsed, redacted, stringified) about this many bytes at a time, each
// batch then written: the event loop, which the frame path shares, is never held for long.
const BATCH_BYTES = 1024 * 1024;

const writeOnce = (fd: number, data: Buffer, offset: number): Promise<number> =>
  new Promise((resolve, reject) => write(fd, data, offset, data.length - offset, null, (error, n) => (error ? reject(error) : resolve(n))));

/** Writes all of `data`; on failure takes a partial write back, so no later line starts mid-line. */
async function append(fd: number, data: Buffer, size: number): Promise<void> {
  try {
    for (let offset = 0; offset < data.length;) {
      const n = await writeOnce(fd, data, offset);
      if (!(n > 0)) throw new Error(`write returned ${n} bytes`);
      offset += n;
    }
  } catch (error) {
    await new Promise<void>((resolve) => ftruncate(fd, size, () => resolve()));
    throw error;
  }
}

/** Opens the transcript (SIDECAR_ERR_REPORT_SINK if it cannot be) and queues its header. */
export function openTranscript(options: TranscriptOptions): TranscriptWriter {
  const { path, logger } = options;
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  const fd = openTranscriptFile(path, logger);
  // Loaded once (it pulls in RE2); frames recorded meanwhile wait in the queue.
  const redactor: Promise<RedactSecrets | undefined> = loadSecretRedactor().catch((error: unknown) => {
    logger.error({ err: error, path }, 'transcript: cannot load the secret redactor; no frame will be written');
    return undefined;
  });

  const queue: Array<TranscriptFrame | string> = [headerLine(options.arguments, options.policy)];
  let queuedBytes = 0;
  let queuedFrames = 0;
  let size = fstatSync(fd).size; // where a failed write is cut back to
  let gap = 0; // frames dropped since the last one queued
  const clock = options.clock ?? systemClock;
  const unrecordable = new TranscriptFailureBursts(logger, clock, { path }, {
    what: 'a frame could not be recorded', consequence: 'it is left out of the transcript (counted)', recovery: 'recording frames again',
  });
  const unwritable = new TranscriptFailureBursts(logger, clock, { path }, {
    what: 'cannot write', consequence: 'frames are being lost (counted)', recovery: 'writing again',
  });
  let running = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  const idleWaiters: Array<() => void> = [];
  const stats: TranscriptStats & { written: number; dropped: number; failures: number; bytes: number } = {
    written: 0, dropped: 0, failures: 0, bytes: 0, get queued() { return queuedFrames; },
  };

  function schedule(): void {
    if (running) return;
    running = true;
    setImmediate(() => void loop());
  }

  /** Serializes a batch; a frame that cannot be serialized is lost (counted), never the batch. */
  function serialize(batch: Array<TranscriptFrame | string>, redact: RedactSecrets | undefined): { text: string; frames: number } {
    let text = '';
    let frames = 0;
    for (const item of batch) {
      if (typeof item === 'string') {
        text += item;
        continue;
      }
      try {
        if (redact === undefined) throw new Error('no secret redactor');
        text += frameLine(item, options.arguments, redact);
        frames += 1;
        unrecordable.succeeded();
      } catch (error) {
        unrecordable.failed(error, 1);
        stats.failures += 1;
      }
    }
    return { text, frames };
  }

  async function loop(): Promise<void> {
    const redact = await redactor;
    while (queue.length > 0) {
      const batch = takeBatch();
      const batchFrames = batch.filter((item) => typeof item !== 'string') as TranscriptFrame[];
      const { text, frames } = serialize(batch, redact);
      const data = Buffer.from(text);
      try {
        await append(fd, data, size);
        size += data.length;
        stats.written += frames;
        stats.bytes += data.length;
        unwritable.succeeded();
      } catch (error) {
        unwritable.failed(error, frames);
        stats.failures += frames;
      }
      queuedFrames -= batchFrames.length;
      for (const frame of batchFrames) queuedBytes -= frame.line.length;
    }
    running = false;
    for (const wake of idleWaiters.splice(0)) wake();
  }

  function takeBatch(): Array<TranscriptFrame | string> {
    let n = 0;
    for (let bytes = 0; n < queue.length && bytes < BATCH_BYTES; n++) {
      const item = queue[n]!;
      bytes += typeof item === 'string' ? item.length : item.line.length;
    }
    return queue.splice(0, n);
  }

  function enqueue(item: TranscriptFrame | string): void {
    queue.push(item);
    schedule();
  }

  function flush(): Promise<void> {
    if (!running && queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  async function finish(): Promise<void> {
    await flush();
    if (gap > 0) {
      enqueue(gapLine(gap)); // frames dropped at the very end: still said
      gap = 0;
      await flush();
    }
    await new Promise<void>((resolve) => close(fd, () => resolve()));
  }

  schedule(); // the header goes out even if no frame ever comes
  return {
    stats,
    record(frame) {
      try {
        if (closed) {
          stats.dropped += 1;
          return;
        }
        // Past the bound, unless the queue is empty: a frame larger than the bound alone still goes.
        if (queuedBytes > 0 && queuedBytes + frame.line.length > maxQueuedBytes) {
          if (gap === 0) logger.error({ path, maxQueuedBytes }, 'transcript: the disk cannot keep up; dropping frames (counted, marked in the file)');
          gap += 1;
          stats.dropped += 1;
          return;
        }
        if (gap > 0) {
          queue.push(gapLine(gap));
          gap = 0;
        }
        queuedBytes += frame.line.length;
        queuedFrames += 1;
        enqueue(frame);
      } catch {
        stats.dropped += 1; // a malformed frame (no bytes): nothing to record, and the proxy must not notice
      }
    },
    recordPolicy(policy: RecordedPolicy | undefined) {
      if (!closed) enqueue(policyLine(policy));
    },
    flush,
    close() {
      closed = true;
      closing ??= finish();
      return closing;
    },
  };
}
