/**
 * A chain and a sink together: what the proxy calls once per invocation or lifecycle event.
 *
 * Under `onOverflow: 'drop'` a report the sink cannot take is dropped *before* it joins the
 * chain, so the file's chain stays intact; the next report that is written says how many were
 * dropped just before it (`dropped`), inside its digest. (Dropping after the chain would
 * leave a gap that verify cannot tell from a deleted line.) Under `block` the promise the sink
 * returns is handed back: the caller stops reading until it resolves.
 */
import type { EncodedReport, ReportChain } from './chain.js';
import type { ReportInput } from './input.js';
import type { ReportSink } from './sink.js';

export interface Reporter {
  /** undefined when queued or dropped; a promise (block, queue full): stop reading until it resolves. */
  report(input: ReportInput): Promise<void> | undefined;
  /** Reports dropped and not yet declared in a written report. */
  readonly undeclaredDrops: number;
  readonly chain: ReportChain;
  readonly sink: ReportSink;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createReporter(chain: ReportChain, sink: ReportSink, options: { readonly onAppend?: (report: EncodedReport) => void } = {}): Reporter {
  let dropped = 0;
  const onAppend = options.onAppend;
  return {
    chain,
    sink,
    get undeclaredDrops() {
      return dropped;
    },
    report(input) {
      if (sink.onOverflow === 'drop' && sink.full) {
        dropped += 1;
        sink.write(''); // refused while full: counted by the sink (stats.dropped) and logged once per overflow
        return undefined;
      }
      const appended = chain.appendBytes(dropped > 0 ? { ...input, dropped } : input);
      dropped = 0;
      onAppend?.(appended);
      const queued = sink.write(appended.bytes); // copied by the sink: the chain reuses its buffer
      return typeof queued === 'boolean' ? undefined : queued;
    },
    flush: () => sink.flush(),
    close: () => sink.close(),
  };
}
