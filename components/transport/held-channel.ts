/**
 * A client channel whose writes wait for a gate (issue 19, "a report before its answer"): with
 * execution reports on, an answer may leave for the client only once its report is in the file.
 * A group commit: the frames sent in one routing pass are cut into one segment a microtask later
 * — after the pass, so every report that pass queued is covered — and the segment takes one
 * ticket from the gate (the report sink: everything queued so far). It is handed to the inner
 * channel, in order, when that ticket settles: one report batch written (and fsynced) per turn
 * releases all of that turn's answers, not one write per call.
 *
 * Nothing is allocated per frame beyond the two arrays' slots (reused once emptied), and when
 * the gate has nothing outstanding and nothing is held the frames go straight through.
 */
import type { Envelope } from '../framing/index.js';
import type { FrameChannel, FrameChannelHandlers } from './ndjson-channel.js';

/** What held writes wait for: a sequence of things accepted (reports queued) that settle in order (written). */
export interface HoldGate {
  /** 0 when everything accepted so far has settled; else a ticket that settles once all of it has. */
  pendingTicket(): number;
  /** Calls `release` once, when `ticket` has settled: at once if it already has. */
  whenSettled(ticket: number, release: () => void): void;
}

export function holdUntilSettled(inner: FrameChannel, gate: HoldGate): FrameChannel {
  const lines: Buffer[] = [];
  const envelopes: Array<Envelope | undefined> = [];
  let head = 0; // frames before head were handed to the inner channel
  let cutEnd = 0; // frames before cutEnd belong to a segment (held, or being released)
  // Held segments, oldest first: where each ends in `lines`, and its ticket.
  const segmentEnds: number[] = [];
  const segmentTickets: number[] = [];
  let waiting = false; // a whenSettled for the oldest segment is outstanding
  let cutScheduled = false;
  let closed = false;
  let endRequested = false;
  let passThrough = 0;
  const idleWaiters: Array<() => void> = [];

  const held = (): boolean => head < lines.length;

  function handOver(end: number): void {
    for (; head < end; head++) {
      const line = lines[head]!;
      const envelope = envelopes[head];
      // Let go of the frame's memory as soon as it is written.
      lines[head] = EMPTY_LINE;
      envelopes[head] = undefined;
      inner.send(line, envelope);
    }
    if (head === lines.length) {
      lines.length = 0;
      envelopes.length = 0;
      head = 0;
      cutEnd = 0;
      segmentEnds.length = 0;
      segmentTickets.length = 0;
      afterRelease();
    } else if (head >= COMPACT_AFTER && head * 2 >= lines.length) {
      // Under steady load the arrays may never empty: drop the handed-over front now and then.
      lines.splice(0, head);
      envelopes.splice(0, head);
      cutEnd -= head;
      for (let i = 0; i < segmentEnds.length; i++) segmentEnds[i] = segmentEnds[i]! - head;
      head = 0;
    }
  }

  function afterRelease(): void {
    if (held()) return;
    if (endRequested) inner.endOutput();
    for (const resolve of idleWaiters.splice(0)) resolve();
  }

  const releaseOldest = (): void => {
    waiting = false;
    if (closed || segmentEnds.length === 0) return;
    const end = segmentEnds.shift()!;
    segmentTickets.shift();
    handOver(end);
    if (segmentEnds.length > 0) waitForOldest();
  };

  function waitForOldest(): void {
    if (waiting) return;
    waiting = true;
    gate.whenSettled(segmentTickets[0]!, releaseOldest);
  }

  function cut(): void {
    cutScheduled = false;
    if (closed || cutEnd === lines.length) return;
    const ticket = gate.pendingTicket();
    if (ticket === 0 && segmentEnds.length === 0) {
      cutEnd = lines.length;
      handOver(lines.length);
      return;
    }
    cutEnd = lines.length;
    segmentEnds.push(cutEnd);
    segmentTickets.push(ticket);
    waitForOldest();
  }

  return {
    start(handlers: FrameChannelHandlers) {
      const onLocalReply = handlers.onLocalReply;
      // A channel that asks for a local reply takes the answer synchronously (HTTP makes it a
      // refused POST's body): those go straight through, unheld.
      inner.start(onLocalReply === undefined ? handlers : {
        ...handlers,
        onLocalReply(request, code, detail) {
          passThrough++;
          try {
            onLocalReply.call(handlers, request, code, detail);
          } finally {
            passThrough--;
          }
        },
      });
    },
    send(line, envelope) {
      if (closed) return;
      if (passThrough > 0) return inner.send(line, envelope);
      lines.push(line);
      envelopes.push(envelope);
      if (!cutScheduled) {
        cutScheduled = true;
        queueMicrotask(cut);
      }
    },
    pause: () => inner.pause(),
    resume: () => inner.resume(),
    drained() {
      cut();
      if (!held()) return inner.drained();
      return new Promise<void>((resolve) => idleWaiters.push(resolve)).then(() => inner.drained());
    },
    endOutput() {
      cut();
      if (!held()) return inner.endOutput();
      endRequested = true;
    },
    close() {
      closed = true;
      lines.length = 0;
      envelopes.length = 0;
      head = 0;
      cutEnd = 0;
      segmentEnds.length = 0;
      segmentTickets.length = 0;
      inner.close();
      for (const resolve of idleWaiters.splice(0)) resolve();
    },
  };
}

const EMPTY_LINE = Buffer.alloc(0);
const COMPACT_AFTER = 1024;
