import type { Decision } from '../policy/index.js';
import type { ObservedFrame, PumpObserver, RequestEnd } from '../pump/index.js';
import { MAX_RULE_LABELS, METHOD_LABELS, methodIndex, OTHER, OUTCOME_LABELS, outcomeIndex } from './labels.js';

export const DIRECTION_LABELS = Object.freeze(['client-to-server', 'server-to-client'] as const);
export const KIND_LABELS = Object.freeze(['request', 'notification', 'response'] as const);
export const EFFECT_LABELS = Object.freeze(['deny', 'rewrite'] as const);

const WIDTH = METHOD_LABELS.length;

/** Where a finished request's duration goes: a cell per (method, outcome) label pair. */
export type DurationSink = (cell: number, seconds: number) => void;
export const DURATION_CELLS = METHOD_LABELS.length * OUTCOME_LABELS.length;

/** The labels of a duration cell. */
export function durationCell(cell: number): { method: string; outcome: string } {
  return { method: METHOD_LABELS[Math.floor(cell / OUTCOME_LABELS.length)]!, outcome: OUTCOME_LABELS[cell % OUTCOME_LABELS.length]! };
}

/** What the observer counted so far; read at scrape time, never reset. */
export interface ObserverCounts {
  /** Frames, indexed by `frameCell` below. */
  readonly frames: Float64Array;
  /** Rule id → [deny enforced, deny would-have, rewrite enforced, rewrite would-have]. */
  readonly decisions: ReadonlyMap<string, Float64Array>;
  readonly inFlight: number;
}

/** The cell's labels, for the index of a nonzero count in `frames`. */
export function frameCell(index: number): { direction: string; kind: string; method: string } {
  const row = Math.floor(index / WIDTH);
  return { direction: DIRECTION_LABELS[Math.floor(row / KIND_LABELS.length)]!, kind: KIND_LABELS[row % KIND_LABELS.length]!, method: METHOD_LABELS[index % WIDTH]! };
}

/**
 * The pump observer behind the metrics. The frame path only adds to plain numbers (one map
 * lookup for the method's label); prom-client sees them when it is scraped. A request's trace
 * is its start time on `now` (milliseconds), so any number of pumps may share one observer.
 */
export function createMetricsObserver(now: () => number, recordDuration: DurationSink): { observer: PumpObserver<number>; counts: ObserverCounts } {
  const frames = new Float64Array(DIRECTION_LABELS.length * KIND_LABELS.length * WIDTH);
  const decisions = new Map<string, Float64Array>();
  let inFlight = 0;

  const countDecisions = (list: readonly Decision[]): void => {
    for (const decision of list) {
      let cell = decisions.get(decision.ruleId);
      if (cell === undefined) {
        const rule = decisions.size < MAX_RULE_LABELS ? decision.ruleId : OTHER;
        cell = decisions.get(rule) ?? new Float64Array(4);
        decisions.set(rule, cell);
      }
      cell[(decision.effect === 'deny' ? 0 : 2) + (decision.enforced ? 0 : 1)]! += 1;
    }
  };
  const observer: PumpObserver<number> = {
    onFrame(frame: ObservedFrame): number | undefined {
      const kind = frame.kind === 'request' ? 0 : frame.kind === 'notification' ? 1 : 2;
      frames[((frame.direction === 'client-to-server' ? 0 : KIND_LABELS.length) + kind) * WIDTH + methodIndex(frame.method)]! += 1;
      if (frame.decisions.length !== 0) countDecisions(frame.decisions);
      if (kind !== 0) return undefined;
      inFlight++;
      return now();
    },
    onRequestEnd(end: RequestEnd<number>): void {
      // No trace: not a request this observer saw start (a dropped notification).
      if (end.trace === undefined) return;
      inFlight--;
      recordDuration(methodIndex(end.request.method) * OUTCOME_LABELS.length + outcomeIndex(end.outcome), Math.max(0, now() - end.trace) / 1000);
    },
  };
  const counts: ObserverCounts = {
    frames,
    decisions,
    get inFlight() {
      return Math.max(0, inFlight);
    },
  };
  return { observer, counts };
}
