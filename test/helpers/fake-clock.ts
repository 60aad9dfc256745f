import type { Clock } from '../../components/clock/index.js';

interface Timer {
  readonly due: number;
  readonly ms: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; every timer it was asked for is on record. */
export class FakeClock implements Clock {
  #now = 0;
  readonly timers: Timer[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { due: this.#now + ms, ms, callback, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Timer).cancelled = true;
  }

  /** Timers not yet fired or cancelled. */
  pending(): Timer[] {
    return this.timers.filter((t) => !t.cancelled && !(t as { fired?: boolean }).fired);
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = this.pending().filter((t) => t.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.#now = next.due;
      (next as { fired?: boolean }).fired = true;
      next.callback();
    }
    this.#now = target;
  }
}
