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
  /**
   * For a busy holder: the clock time by which it is idle at the latest (every request in flight
   * past its deadline, no stream open); undefined when nothing bounds it (a request without a
   * deadline, a GET stream). Read only when every slot is busy.
   */
  busyUntil?(): number | undefined;
}

/** Retry-After when every slot is busy and nothing bounds when one frees: a slot frees the moment a session's last answer is sent. */
export const UNBOUNDED_RETRY_AFTER_SECONDS = 1;

/**
 * Retry-After, in whole seconds (at least 1), for a new session refused because every slot (of
 * `caller`'s, when given) is busy: the soonest time any of them is surely idle (request
 * deadlines bound it); without such a bound, UNBOUNDED_RETRY_AFTER_SECONDS. A slot may free
 * sooner (any answer can end a session's last request): this is when one surely has.
 */
export function busyRetryAfterSeconds(holders: Iterable<SlotHolder>, now: number, caller?: string): number {
  let soonest: number | undefined;
  for (const holder of holders) {
    if (caller !== undefined && holder.caller !== caller) continue;
    const until = holder.busyUntil?.();
    if (until !== undefined && (soonest === undefined || until < soonest)) soonest = until;
  }
  if (soonest === undefined) return UNBOUNDED_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil((soonest - now) / 1000));
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

/**
 * Which idle holder gives its slot to `caller`'s new session at the cap: the caller's own least
 * recently active idle one first (it loses only its own); else one of the caller holding the
 * most sessions (least recently active among those), so a caller under its share takes from
 * whoever holds more, never from a caller holding fewer than the biggest; undefined if every one
 * is busy. With one caller (no auth: every client is the anonymous caller) this is plain LRU.
 */
export function evictionCandidate<T extends SlotHolder>(holders: Iterable<T>, caller: string): T | undefined {
  const all = [...holders];
  const own = leastRecentlyActiveIdle(all, caller);
  if (own !== undefined) return own;
  const held = new Map<string, number>();
  for (const holder of all) held.set(holder.caller, (held.get(holder.caller) ?? 0) + 1);
  let chosen: T | undefined;
  for (const holder of all) {
    if (!holder.idle) continue;
    if (chosen === undefined) {
      chosen = holder;
      continue;
    }
    const more = held.get(holder.caller)! - held.get(chosen.caller)!;
    if (more > 0 || (more === 0 && holder.lastActiveAt < chosen.lastActiveAt)) chosen = holder;
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
