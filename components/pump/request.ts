import type { Direction } from '../policy/index.js';
import type { InvocationOutcome, ObservedFrame } from './observer.js';

/** Where a request's end goes: the observer (once), and what a second end is (a bug). */
export interface RequestEnds {
  ended(request: PumpRequest, outcome: InvocationOutcome, reply: Buffer | undefined, response: ObservedFrame | undefined): void;
  endedTwice(request: PumpRequest, outcome: InvocationOutcome): void;
}

// One request in flight (either way), or refused where it started: it carries its own state
// (its envelope, the request as observed with its decisions and parsed body, the observer's
// trace, its start time) and ends exactly once, so no caller has to remember whether it did.
export class PumpRequest {
  #ended = false;
  /** For a `tools/call`, the tool it names, read only when a response rule needs it (FrameContext.tool). */
  tool: string | undefined = undefined;

  constructor(
    readonly direction: Direction,
    /** The id as the requester wrote it (JSON text), echoed byte for byte in a local reply. */
    readonly rawId: string,
    /** The id by value: what the answer's id must equal. */
    readonly key: string,
    readonly method: string,
    readonly ends: RequestEnds,
    /** With an observer: the request as observed (its decisions, its parsed body, its time), and the observer's trace. */
    readonly observed?: ObservedFrame,
    readonly trace?: unknown,
  ) {}

  /** True once it ended: answered, refused, cancelled, failed. A response after that is a late one. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Milliseconds from the pump's clock when it was observed (undefined without an observer). */
  get startedAt(): number | undefined {
    return this.observed?.at;
  }

  /** Ends it: the observer hears of it once. A second end is a bug, reported to `ends` and never observed. */
  end(outcome: InvocationOutcome, reply?: Buffer, response?: ObservedFrame): void {
    if (this.#ended) return this.ends.endedTwice(this, outcome);
    this.#ended = true;
    this.ends.ended(this, outcome, reply, response);
  }
}
