// Where fleet-wide rate-limit buckets live: a store that leases tokens out of a shared bucket
// (Redis, redis-lease-store.ts). The rateLimit rule (policy/rules/rate-limit-redis.ts) keeps
// the leased tokens and decides synchronously; only leasing is asynchronous. One store per
// process, set by the runtime from --redis-url before the policy is compiled; the Redis client
// is loaded only then (a proxy without --redis-url never loads it).
import type { Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';

/** What a lease asks for: the bucket's shape, the tokens already granted on credit, and how many more. */
export interface LeaseRequest {
  readonly capacity: number;
  readonly refillPerSecond: number;
  /** Tokens the replica already granted on credit: charged even when the bucket is empty. */
  readonly debt: number;
  /** Tokens wanted on top: granted as many whole ones as the bucket holds, up to this. */
  readonly want: number;
}

export interface LeaseGrant {
  readonly granted: number;
  /** Milliseconds until the shared bucket holds a whole token again; 0 when it still does. */
  readonly retryAfterMs: number;
}

export interface LeaseStore {
  /**
   * False while the store is known not to answer (not connected, or a lease just failed or timed
   * out): a rule then follows its `onStoreError` instead of waiting for a lease.
   */
  readonly available: boolean;
  /** Rejects when the store fails or does not answer within its timeout. */
  lease(key: string, request: LeaseRequest): Promise<LeaseGrant>;
}

export interface ClosableLeaseStore extends LeaseStore {
  close(): Promise<void>;
}

let fleetStore: LeaseStore | undefined;

/** The store `store: redis` rules lease from; undefined when none was configured. */
export function fleetLeaseStore(): LeaseStore | undefined {
  return fleetStore;
}

/** Sets (or, with undefined, clears) the process's store: the runtime at start, tests around a case. */
export function setFleetLeaseStore(store: LeaseStore | undefined): void {
  fleetStore = store;
}

export interface RedisLeaseStoreOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** One lease's deadline, and the connect timeout; default LEASE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** How long to wait for the first connection before returning (the store connects on in the background). */
  readonly startWaitMs?: number;
}

/**
 * Connects to Redis (loading the client now) and returns the store, once connected or after
 * `startWaitMs`, whichever is first: an unreachable Redis never stops the proxy from starting;
 * the rules follow `onStoreError` until it answers.
 */
export async function connectRedisLeaseStore(url: string, options: RedisLeaseStoreOptions = {}): Promise<ClosableLeaseStore> {
  const { RedisLeaseStore } = await import('./redis-lease-store.js');
  return RedisLeaseStore.connect(url, options);
}

export { LEASE_TIMEOUT_MS, FAILURE_HOLD_MS } from './constants.js';
