// Who gives way when the session slots are taken, what an evicted session's id answers later,
// and each caller's share of the requests in flight.

/** What eviction needs to know of a backend. */
export interface SlotHolder {
  /** Nothing in flight, no open stream (GET or POST SSE), not ending: stopping it loses nothing. */
  readonly idle: boolean;
  /** Clock time of its last request, answer or stream change. */
  readonly lastActiveAt: number;
  /** The caller it is bound to ('' for callers not told apart). */
  readonly caller: string;
}

/** The idle holder least recently active (of `caller`'s only, when given); undefined if every one is busy. */
export function leastRecentlyActiveIdle<T extends SlotHolder>(holders: Iterable<T>, caller?: string): T | undefined {
  let chosen: T | undefined;
  for (const holder of holders) {
    if (!holder.idle || (caller !== undefined && holder.caller !== caller)) continue;
    if (chosen === undefined || holder.lastActiveAt < chosen.lastActiveAt) chosen = holder;
  }
  return chosen;
}

export function countOf(holders: Iterable<SlotHolder>, caller: string): number {
  let count = 0;
  for (const holder of holders) if (holder.caller === caller) count++;
  return count;
}

interface Eviction {
  readonly caller: string;
  readonly idleMs: number;
}

/**
 * Ids of sessions evicted for newer ones, so a client that comes back is told why its session
 * is gone rather than only that it is unknown. Bounded: the oldest are forgotten first.
 */
export class EvictedSessions {
  readonly #evictions = new Map<string, Eviction>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  remember(id: string, caller: string, idleMs: number): void {
    this.#evictions.set(id, { caller, idleMs });
    if (this.#evictions.size > this.#limit) this.#evictions.delete(this.#evictions.keys().next().value!);
  }

  /** How long the session had been idle when evicted; undefined if it was not, or was another caller's (that caller learns nothing of it). */
  idleMsOf(id: string, caller: string): number | undefined {
    const eviction = this.#evictions.get(id);
    return eviction !== undefined && eviction.caller === caller ? eviction.idleMs : undefined;
  }
}

/**
 * Requests each caller has in flight over HTTP (across its sessions and its stateless backend),
 * against `--http-max-in-flight-per-identity`. A POST's requests count from its arrival until
 * its HTTP answer ends (or its client gives up on it).
 */
export class InFlightPerCaller {
  readonly limit: number | undefined;
  readonly #counts = new Map<string, number>();

  constructor(limit: number | undefined) {
    this.limit = limit;
  }

  /** Whether `requests` more would stay within the caller's limit. */
  admits(caller: string, requests: number): boolean {
    return this.limit === undefined || (this.#counts.get(caller) ?? 0) + requests <= this.limit;
  }

  /** Counts `requests` for the caller if within its limit; false (nothing counted) if not. */
  tryAcquire(caller: string, requests: number): boolean {
    if (!this.admits(caller, requests)) return false;
    if (this.limit !== undefined) this.#counts.set(caller, (this.#counts.get(caller) ?? 0) + requests);
    return true;
  }

  release(caller: string, requests: number): void {
    if (this.limit === undefined) return;
    const left = (this.#counts.get(caller) ?? 0) - requests;
    if (left > 0) this.#counts.set(caller, left);
    else this.#counts.delete(caller);
  }

  countOf(caller: string): number {
    return this.#counts.get(caller) ?? 0;
  }
}
