// `rateLimit: { tools?, methods?, per, capacity, refillPerSecond }` — a token bucket per key:
// `per: tool` (the default) one per tool name (tools/call), `per: method` one per method, `per: rule` one for
// everything the rule covers, `per: tenantId` (or userId, agentId) one per value of that field of
// the caller's identity, and a list (`per: [tenantId, tool]`) one per combination. Frames whose
// identity lacks the field (every frame over stdio) share one bucket for it. A bucket holds
// `capacity` tokens and gains `refillPerSecond` a second, continuously; a request takes one, and
// is denied (transient_error, with the time until a token is back) when there is none. Time is
// `frame.now`, the engine's clock.
//
// Buckets are bounded: at most MAX_RATE_LIMIT_BUCKETS keys per rule, the least recently used
// forgotten first, so a client inventing tool names cannot grow memory. A forgotten bucket
// starts full again; a client can reset a tool's bucket only by first spending requests on
// that many other keys, each of which was itself admitted and counted.
//
// Notifications (`notifications/*`) are never limited: they cannot be answered, and dropping
// `notifications/cancelled` or `notifications/initialized` would break the session.
//
// A `tools/call` without a string name, in a rule with `tools` globs that its `methods` do not
// cover, is denied (invalid_params): the rule cannot tell whether it covers the call, and
// letting it pass would let a nameless call skip the bucket.
//
// `store: redis`: the buckets are shared by every replica through Redis, spent from leased
// tokens so the check stays synchronous (rate-limit-redis.ts).
import type { IdentityField, RateLimitRule } from '../document/document.js';
import type { FrameContext, Identity, Rule, Verdict } from '../engine/types.js';
import { CONTINUE } from '../engine/types.js';
import { compileGlobs, type GlobMatcher } from '../engine/glob.js';
import { deny, invalidParams, quoteForMessage, readParams, RuleSpecError, type RuleContext } from './common.js';
import { fleetLeaseStore } from '../../rate-limit-store/index.js';
import { LEASE_PENDING, LEASE_PENDING_RETRY_MS, LeasedBuckets, STORE_UNAVAILABLE, STORE_UNAVAILABLE_RETRY_MS } from './rate-limit-redis.js';

export const MAX_RATE_LIMIT_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets by key, least recently used first (a Map keeps insertion order). */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  /** The most recently used key (the Map's last): taking from it again needs no re-insertion. */
  #newest: string | undefined;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    readonly maxKeys: number = MAX_RATE_LIMIT_BUCKETS,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes a token from `key`'s bucket: 0 when granted, else the milliseconds until one is back. */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
      bucket = { tokens: this.capacity, updatedAt: now };
      this.#buckets.set(key, bucket);
    } else {
      if (key !== this.#newest) {
        this.#buckets.delete(key); // re-inserted: now the most recently used
        this.#buckets.set(key, bucket);
      }
      const elapsed = now - bucket.updatedAt;
      if (elapsed > 0) {
        bucket.tokens = Math.min(this.capacity, bucket.tokens + (elapsed * this.refillPerSecond) / 1000);
        bucket.updatedAt = now;
      }
    }
    this.#newest = key;
    // A hair of tolerance, so 200 ms at 5/s is a whole token despite binary fractions.
    if (bucket.tokens >= 1 - 1e-9) {
      bucket.tokens = Math.max(0, bucket.tokens - 1);
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / this.refillPerSecond - 1e-6));
  }
}

const IDENTITY_FIELDS: readonly string[] = ['tenantId', 'userId', 'agentId'] satisfies IdentityField[];

/**
 * `per` as the rule uses it: what keys the bucket by request (tool, method, or `rule` for
 * nothing) and the identity fields that key it by caller, in the order written (the schema has
 * checked each is named once, and tool and method not both).
 */
function readPer(value: RateLimitRule['rateLimit']['per']): { per: 'tool' | 'method' | 'rule'; identityFields: readonly IdentityField[] } {
  let per: 'tool' | 'method' | 'rule' = 'rule';
  const identityFields: IdentityField[] = [];
  for (const word of typeof value === 'string' ? [value] : value) {
    if (IDENTITY_FIELDS.includes(word)) identityFields.push(word as IdentityField);
    else if (word === 'tool' || word === 'method') per = word;
  }
  return { per, identityFields };
}

/**
 * The bucket key with the caller's identity fields in front. Each value is written with its
 * length, so no two identities (whatever characters they hold) give the same key; a field the
 * identity lacks is `-`, one bucket for everyone without it.
 */
function identityKey(fields: readonly IdentityField[], identity: Identity | undefined, key: string): string {
  let prefix = '';
  for (const field of fields) {
    const value = identity?.[field];
    prefix += typeof value === 'string' ? `${value.length}:${value}|` : '-|';
  }
  return prefix + key;
}

/** `of tenantId "acme"` / `of callers without a tenantId`, for the denial's message. */
function identityText(fields: readonly IdentityField[], identity: Identity | undefined): string {
  return `of ${fields.map((field) => {
    const value = identity?.[field];
    return typeof value === 'string' ? `${field} ${quoteForMessage(value)}` : `callers without a ${field}`;
  }).join(' and ')}`;
}

export function createRateLimitRules(spec: RateLimitRule, context: RuleContext): Rule[] {
  const { id } = spec;
  const { mode } = context;
  const { tools, methods: methodGlobs, capacity, refillPerSecond } = spec.rateLimit;
  const { per, identityFields } = readPer(spec.rateLimit.per);

  const matchTool: GlobMatcher | undefined = tools !== undefined && tools.length > 0 ? compileGlobs(tools) : undefined;
  const matchMethod: GlobMatcher | undefined = methodGlobs !== undefined && methodGlobs.length > 0 ? compileGlobs(methodGlobs) : undefined;
  const buckets = spec.rateLimit.store === 'redis' ? leasedBuckets(spec) : new TokenBuckets(capacity, refillPerSecond);
  const methods = [...new Set([...(matchTool ? ['tools/call'] : []), ...(methodGlobs ?? [])])];
  // The bucket key of the last tool seen: the same tool, call after call, builds no new string.
  let lastTool: string | undefined;
  let lastToolKey = '';
  const toolKey = (tool: string): string => {
    if (tool !== lastTool) {
      lastTool = tool;
      lastToolKey = `tool:${tool}`;
    }
    return lastToolKey;
  };

  return [{
    id,
    kind: 'rateLimit',
    mode,
    direction: 'client-to-server',
    phase: 'request',
    methods,
    evaluate(frame: FrameContext): Verdict {
      const method = frame.method;
      if (method.startsWith('notifications/')) return CONTINUE;
      let tool: string | undefined;
      if (method === 'tools/call' && (matchTool !== undefined || per === 'tool')) {
        const name = readParams(frame.body())?.['name'];
        if (typeof name === 'string') tool = name;
      }
      const byMethod = matchMethod !== undefined && matchMethod(method);
      if (!byMethod && matchTool !== undefined && method === 'tools/call' && tool === undefined) {
        // Without a name the rule cannot tell whether its tool globs cover the call (fail closed).
        return invalidParams(method, 'name');
      }
      const covered = byMethod || (matchTool !== undefined && tool !== undefined && matchTool(tool));
      if (!covered) return CONTINUE;

      const key = per === 'rule' ? '' : per === 'tool' && tool !== undefined ? toolKey(tool) : `method:${method}`;
      const identity = frame.identity;
      const retryAfterMs = buckets.take(identityFields.length === 0 ? key : identityKey(identityFields, identity, key), frame.now);
      if (retryAfterMs === 0) return CONTINUE;
      if (retryAfterMs === STORE_UNAVAILABLE) {
        return deny('rate_limit_store_unavailable', `rate limit ${quoteForMessage(id)} cannot count this request: its store (Redis) is unavailable; retry in ${STORE_UNAVAILABLE_RETRY_MS} ms`, 'transient_error', { retryAfterMs: STORE_UNAVAILABLE_RETRY_MS });
      }
      const what = per === 'rule' ? (identityFields.length === 0 ? 'these requests' : 'requests') : per === 'tool' && tool !== undefined ? `tool ${quoteForMessage(tool)}` : `method ${quoteForMessage(method)}`;
      const whose = identityFields.length === 0 ? '' : ` ${identityText(identityFields, identity)}`;
      if (retryAfterMs === LEASE_PENDING) {
        return deny('rate_limited', `rate limit for ${what}${whose}: this proxy's tokens are spent and more are on their way from Redis; retry in ${LEASE_PENDING_RETRY_MS} ms`, 'transient_error', { retryAfterMs: LEASE_PENDING_RETRY_MS });
      }
      return deny('rate_limited', `rate limit for ${what}${whose} exceeded (${capacity} burst, ${refillPerSecond}/s); retry in ${retryAfterMs} ms`, 'transient_error', { retryAfterMs });
    },
  }];
}

/** `store: redis`: buckets leased from the process's store, which --redis-url configures (fail closed without one). */
function leasedBuckets(spec: RateLimitRule): LeasedBuckets {
  const store = fleetLeaseStore();
  if (store === undefined) throw new RuleSpecError(spec.id, 'store: redis needs a Redis: give --redis-url (MCP_PROXY_REDIS_URL)');
  const { capacity, refillPerSecond, lease, onStoreError } = spec.rateLimit;
  return new LeasedBuckets({ store, ruleId: spec.id, capacity, refillPerSecond, ...(lease !== undefined && { lease }), ...(onStoreError !== undefined && { onStoreError }) });
}
