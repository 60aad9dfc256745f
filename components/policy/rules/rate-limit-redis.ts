// `store: redis`: a rate limit whose buckets are shared by every replica, kept in Redis, while
// the check itself stays synchronous (a rule's verdict is pure and immediate: a frame never
// waits on Redis, and frames keep their order). Each replica holds a small lease of tokens per
// key, taken from the shared bucket by one atomic script (components/rate-limit-store), and
// spends them locally; whenever it holds fewer than `lease`, it asks for more in the background
// (one lease in flight per key).
//
// A key this replica holds nothing for, with no lease in flight and no word from Redis that the
// bucket is empty, is granted one token on credit: the lease it starts charges that token in
// Redis even if the bucket is empty (it goes below zero and later refills repay it). So a first
// call is not refused for want of a round trip, the fleet can run ahead of its quota by at most
// one token per replica per key at a time, and over time the quota holds exactly. Tokens leased
// and not spent are never used by another replica: the fleet can fall short of its quota by at
// most `lease` tokens per replica per key.
//
// While the store is unavailable, the tokens already held are spent (Redis granted them); past
// them, `onStoreError: deny` (the default) refuses, and `allow` lets this replica's own
// in-memory bucket of the same shape decide: one replica's quota, never no limit at all.
import { createHash } from 'node:crypto';
import type { LeaseStore } from '../../rate-limit-store/index.js';
import { MAX_RATE_LIMIT_BUCKETS, TokenBuckets } from './rate-limit.js';

/** A request that finds no token while this replica's lease is on its way: retry after about a round trip. */
export const LEASE_PENDING_RETRY_MS = 50;
/** How long a client refused because the store is unavailable is told to wait. */
export const STORE_UNAVAILABLE_RETRY_MS = 1000;
/** take()'s answer when the store cannot be asked and onStoreError is deny. */
export const STORE_UNAVAILABLE = -1;
/** take()'s answer when the request waits for a lease in flight (negative: told apart from a retry time). */
export const LEASE_PENDING = -2;

/** Redis keys longer than this are hashed: tool names are the client's, of any length. */
const MAX_PLAIN_KEY_LENGTH = 256;

interface LeasedBucket {
  /** Whole tokens leased from the shared bucket and not yet spent. */
  held: number;
  leasing: boolean;
  /** Until then (the engine's clock), Redis said the shared bucket is empty: no lease is asked for. */
  emptyUntil: number;
}

export interface LeasedBucketsOptions {
  readonly store: LeaseStore;
  /** The rule's id: the Redis keys of its buckets start with it, so rules never share a bucket. */
  readonly ruleId: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  /** The most tokens a replica holds unspent for one key; default defaultLease(capacity). */
  readonly lease?: number;
  readonly onStoreError?: 'allow' | 'deny';
  readonly maxKeys?: number;
}

/** A tenth of the burst, at least 1: small enough that replicas strand little of the quota. */
export function defaultLease(capacity: number): number {
  return Math.max(1, Math.floor(capacity / 10));
}

/** Leased token buckets by key, least recently used first (as TokenBuckets). */
export class LeasedBuckets {
  readonly #buckets = new Map<string, LeasedBucket>();
  #newest: string | undefined;
  readonly #store: LeaseStore;
  readonly #keyPrefix: string;
  readonly #fallback: TokenBuckets | undefined;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly lease: number;
  readonly maxKeys: number;

  constructor(options: LeasedBucketsOptions) {
    this.#store = options.store;
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.lease = Math.min(options.lease ?? defaultLease(options.capacity), options.capacity);
    this.maxKeys = options.maxKeys ?? MAX_RATE_LIMIT_BUCKETS;
    this.#keyPrefix = `mcp-sidecar:rate-limit:${options.ruleId.length}:${options.ruleId}:`;
    this.#fallback = options.onStoreError === 'allow' ? new TokenBuckets(options.capacity, options.refillPerSecond, this.maxKeys) : undefined;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** The Redis key of a bucket key. */
  redisKey(key: string): string {
    return this.#keyPrefix + (key.length <= MAX_PLAIN_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`);
  }

  /**
   * Takes a token from `key`'s bucket: 0 when granted, else the milliseconds until one could be
   * back, or STORE_UNAVAILABLE, or LEASE_PENDING.
   */
  take(key: string, now: number): number {
    const bucket = this.#bucket(key);
    if (bucket.held >= 1) {
      bucket.held -= 1;
      if (!bucket.leasing && now >= bucket.emptyUntil && this.#store.available) this.#startLease(key, bucket, 0, now);
      return 0;
    }
    if (!this.#store.available) return this.#fallback === undefined ? STORE_UNAVAILABLE : this.#fallback.take(key, now);
    if (bucket.leasing) return LEASE_PENDING;
    if (now < bucket.emptyUntil) return Math.max(1, Math.ceil(bucket.emptyUntil - now));
    this.#startLease(key, bucket, 1, now); // on credit
    return 0;
  }

  #bucket(key: string): LeasedBucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
      bucket = { held: 0, leasing: false, emptyUntil: Number.NEGATIVE_INFINITY };
      this.#buckets.set(key, bucket);
    } else if (key !== this.#newest) {
      this.#buckets.delete(key); // re-inserted: now the most recently used
      this.#buckets.set(key, bucket);
    }
    this.#newest = key;
    return bucket;
  }

  #startLease(key: string, bucket: LeasedBucket, debt: number, now: number): void {
    const want = this.lease - bucket.held;
    if (want <= 0 && debt === 0) return;
    bucket.leasing = true;
    this.#store.lease(this.redisKey(key), { capacity: this.capacity, refillPerSecond: this.refillPerSecond, debt, want }).then(
      (grant) => {
        bucket.leasing = false;
        bucket.held += grant.granted;
        // Measured from when the lease was asked for: a little early, never late.
        bucket.emptyUntil = grant.retryAfterMs > 0 ? now + grant.retryAfterMs : Number.NEGATIVE_INFINITY;
      },
      () => {
        // The store marks itself unavailable and logs the outage; the rule follows onStoreError.
        bucket.leasing = false;
      },
    );
  }
}
