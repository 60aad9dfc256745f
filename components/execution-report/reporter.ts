/**
 * A chain and a sink together: what the proxy calls once per invocation or lifecycle event.
 * It also decides when the chain writes a checkpoint (the line that carries the signature and
 * covers, through the chain, every line before it): after every `checkpointEvery` reports; when
 * signing, `checkpointIntervalMs` after a report that no checkpoint covers yet, so an unsigned
 * tail stays short in time too; and at `close`, which marks a file as ended cleanly.
 *
 * Under `onOverflow: 'drop'` a report the sink cannot take is dropped *before* it joins the
 * chain, so the file's chain stays intact; the next report that is written says how many were
 * dropped just before it (`dropped`), inside its digest. (Dropping after the chain would
 * leave a gap that verify cannot tell from a deleted line.) Under `block` the promise the sink
 * returns is handed back: the caller stops reading until it resolves. Checkpoints are never
 * dropped: they are few, and a missing one would read as a cut file. Drops no report followed
 * are declared by the next checkpoint (`dropped`): always the closing one, which the queue,
 * flushed first, has room for — so a file closed cleanly declares every report it dropped.
 * A reporter that continues an existing file's chain writes a `chain_resumed` record first.
 */
import { systemClock, type Clock } from '../clock/index.js';
import type { EncodedReport, ReportChain } from './chain.js';
import { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_INTERVAL_MS, type CheckpointReason } from './constants.js';
import type { ReportInput } from './input.js';
import type { ReportSink } from './sink.js';

export interface Reporter {
  /** undefined when queued or dropped; a promise (block, queue full): stop reading until it resolves. */
  report(input: ReportInput): Promise<void> | undefined;
  /** Reports dropped and not yet declared in a written report or checkpoint. */
  readonly undeclaredDrops: number;
  readonly chain: ReportChain;
  readonly sink: ReportSink;
  flush(): Promise<void>;
  /** Writes the closing checkpoint, then what is queued, and closes the sink. */
  close(): Promise<void>;
}

export interface ReporterOptions {
  readonly onAppend?: (report: EncodedReport) => void;
  /** A checkpoint after this many reports (default 1000). */
  readonly checkpointEvery?: number;
  /** When signing: a checkpoint this long after the first report no checkpoint covers (default 1000 ms; 0: none by time). */
  readonly checkpointIntervalMs?: number;
  /** The timer of `checkpointIntervalMs` (default: the system clock). */
  readonly clock?: Clock;
  /**
   * The chain continues this line of an existing file (the sink's `resume`): a `chain_resumed`
   * record naming it is written first, so a restart is a line of the chain, not a silent join.
   */
  readonly resumedFrom?: { readonly seq: number; readonly digest: string };
  /** Runs a lifecycle write with the sink's reserved room open (the file sink's `reserved`). */
  readonly reserved?: <T>(run: () => T) => T;
}

export function createReporter(chain: ReportChain, sink: ReportSink, options: ReporterOptions = {}): Reporter {
  let dropped = 0;
  const onAppend = options.onAppend;
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  if (!Number.isSafeInteger(every) || every < 1) throw new TypeError('execution report: checkpointEvery must be an integer ≥ 1');
  const intervalMs = chain.signed ? options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS : 0;
  let timer: unknown;
  let closed = false;

  const clock = options.clock ?? systemClock;

  const checkpoint = (reason: CheckpointReason): Promise<void> | undefined => {
    // A full sink under `drop` would refuse it after it joined the chain: it waits for room
    // (the next report asks again; the timer is armed again).
    if (sink.onOverflow === 'drop' && sink.full) return undefined;
    if (timer !== undefined) {
      clock.clearTimeout(timer);
      timer = undefined;
    }
    const declared = dropped > 0 ? dropped : undefined;
    dropped = 0;
    const queued = sink.write(chain.checkpointBytes(reason, declared).bytes);
    return typeof queued === 'boolean' ? undefined : queued;
  };

  const armTimer = (): void => {
    if (intervalMs <= 0 || timer !== undefined || closed) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (closed || chain.sinceCheckpoint === 0) return;
      if (sink.onOverflow === 'drop' && sink.full) armTimer();
      else void checkpoint('interval');
    }, intervalMs);
    // A pending checkpoint must not keep the process alive (close writes the last one).
    (timer as { unref?: () => void } | undefined)?.unref?.();
  };

  const reporter: Reporter = {
    chain,
    sink,
    get undeclaredDrops() {
      return dropped;
    },
    report(input) {
      // After close the sink refuses (and counts) what comes: nothing follows the closing checkpoint.
      if (sink.onOverflow === 'drop' && sink.full) {
        dropped += 1;
        sink.write(''); // refused while full: counted by the sink (stats.dropped) and logged once per overflow
        return undefined;
      }
      const appended = chain.appendBytes(dropped > 0 ? { ...input, dropped } : input);
      dropped = 0;
      onAppend?.(appended);
      const queued = sink.write(appended.bytes); // copied by the sink: the chain reuses its buffer
      const waiting = typeof queued === 'boolean' ? undefined : queued;
      if (chain.sinceCheckpoint >= every) return checkpoint('count') ?? waiting;
      armTimer();
      return waiting;
    },
    flush: () => sink.flush(),
    async close() {
      if (!closed) {
        await sink.flush(); // room for the closing checkpoint, even under drop
        closed = true;
        // Written and the sink closed in the same turn: no report can come between them. It
        // declares the drops no report followed (the last ones before close), which are
        // otherwise lost with the writer.
        const written = checkpoint('close');
        const closing = sink.close();
        await written;
        await closing;
        return;
      }
      await sink.close();
    },
  };

  const resumed = options.resumedFrom;
  if (resumed !== undefined) {
    // A mismatch would name a line the record does not follow: a wiring bug, refused here rather than written.
    if (chain.lastDigest !== resumed.digest || chain.nextSeq !== resumed.seq + 1) {
      throw new TypeError(`execution report: resumedFrom (seq ${resumed.seq}) is not the line the chain continues from (seq ${chain.nextSeq - 1})`);
    }
    const detail = { previousDigest: resumed.digest, previousSeq: resumed.seq };
    const reserved = options.reserved ?? ((run) => run());
    void reserved(() => reporter.report({ kind: 'lifecycle', event: 'chain_resumed', detail, generation: 0 }));
  }
  return reporter;
}
