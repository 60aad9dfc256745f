import pRetry from 'p-retry';
import { join } from 'node:path';
import type { Clock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';
import type { LoadedPolicy } from '../policy/index.js';
import { CACHE_FILE, readCachedBundle, writeCachedBundle } from './cache.js';
import { createFetcher, FetchFailed, type BundleFetcher, type FetchFailureReason } from './fetcher.js';
import { BundleRejected, readPublicKey, remoteKeySet, verifyBundle, type BundleVerifier, type RejectionReason, type VerifiedBundle } from './verify.js';

/** --policy-url and its companions (loadConfig builds it). */
export interface PolicyBundleSettings {
  readonly url: string;
  /** Between polls, ±10% jitter so a fleet does not poll in step. */
  readonly pollMs: number;
  readonly publicKeyFile: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly allowUnsigned: boolean;
  /** Where the last known good bundle is kept; undefined: nowhere (a restart needs the control plane). */
  readonly cacheDir: string | undefined;
  /** One fetch, headers and body; default 10 s. */
  readonly timeoutMs?: number;
  /** A bundle's largest size; default 4 MiB. */
  readonly maxBytes?: number;
  /** Quick retries of a failed poll (p-retry, doubling from minTimeoutMs); default 2 from 1 s. */
  readonly retries?: number;
  readonly retryMinTimeoutMs?: number;
}

export const DEFAULT_BUNDLE_TIMEOUT_MS = 10_000;
export const DEFAULT_BUNDLE_MAX_BYTES = 4 * 1024 * 1024;
const POLL_JITTER = 0.1;

export type FailureReason = FetchFailureReason | RejectionReason;
export const FAILURE_REASONS: readonly FailureReason[] = ['unreachable', 'timeout', 'too_large', 'http_status', 'format', 'signature', 'unsigned', 'invalid', 'revision'];

/** What the metrics and /readyz read. */
export interface PolicyBundleStatus {
  readonly url: string;
  /** Where the policy in force came from: the control plane, the cache at start, or the --policy file at start. */
  readonly source: 'control-plane' | 'cache' | 'file';
  readonly revision: number | undefined;
  readonly digest: string | undefined;
  /** The clock's time of the last poll the control plane answered well (a bundle in force, the same one, or 304). */
  readonly lastSuccessAt: number | undefined;
  readonly lastError: string | undefined;
  readonly fetches: number;
  readonly failures: Readonly<Record<FailureReason, number>>;
  readonly activations: number;
}

export type PollResult = 'activated' | 'unchanged' | 'not-modified' | 'failed' | 'rejected';

export interface PolicyBundleSourceOptions<P> {
  readonly settings: PolicyBundleSettings;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random?: () => number;
  /** Compiles a bundle's policy; a throw refuses the bundle (`invalid`) and the policy in force stays. */
  compile(loaded: LoadedPolicy): Promise<P>;
  /** Puts a compiled policy in force (between frames: one assignment). */
  install(policy: P, bundle: VerifiedBundle): void;
}

export interface PolicyBundleSource<P> {
  /** At start: the control plane's bundle, else the cached one (never a lower revision than the cache's unless signed rollback); undefined: neither. */
  initial(): Promise<P | undefined>;
  /** The policy in force came from the --policy file: the source says so until a bundle arrives. */
  fellBackToFile(): void;
  /** Polls every pollMs (with jitter) on the clock, from now. */
  startPolling(): void;
  /** One poll now (SIGHUP); a poll already running is shared. */
  poll(why: string): Promise<PollResult>;
  status(): PolicyBundleStatus;
  close(): Promise<void>;
}

interface Active {
  readonly revision: number;
  readonly digest: string;
}

/**
 * A policy bundle on a control plane: fetched with If-None-Match, verified, checked against the
 * revision in force, compiled, then put in force and kept as the last known good. Anything that
 * fails leaves the policy in force as it was.
 */
export async function createPolicyBundleSource<P>(options: PolicyBundleSourceOptions<P>): Promise<PolicyBundleSource<P>> {
  const { settings, logger, clock } = options;
  const random = options.random ?? Math.random;
  const verifier: BundleVerifier | undefined = settings.publicKeyFile !== undefined
    ? readPublicKey(settings.publicKeyFile)
    : settings.jwksUrl !== undefined ? remoteKeySet(settings.jwksUrl) : undefined;
  const timeoutMs = settings.timeoutMs ?? DEFAULT_BUNDLE_TIMEOUT_MS;
  const fetcher: BundleFetcher = createFetcher({ timeoutMs, maxBytes: settings.maxBytes ?? DEFAULT_BUNDLE_MAX_BYTES, clock });
  const failures = Object.fromEntries(FAILURE_REASONS.map((reason) => [reason, 0])) as Record<FailureReason, number>;
  let active: Active | undefined;
  let source: PolicyBundleStatus['source'] = 'control-plane';
  let etag: string | undefined;
  let lastSuccessAt: number | undefined;
  let lastError: string | undefined;
  let fetches = 0;
  let activations = 0;
  let timer: unknown;
  let closed = false;
  let running: Promise<PollResult> | undefined;

  const fail = (reason: FailureReason, message: string, why: string): void => {
    failures[reason] += 1;
    lastError = message;
    logger.warn({ why, url: settings.url, reason, err: message, revision: active?.revision }, reason === 'unreachable' || reason === 'timeout' || reason === 'http_status'
      ? 'policy bundle: the control plane did not answer; the policy in force stays'
      : 'policy bundle refused; the policy in force stays');
  };

  const fetchOnce = (retries: number) => {
    fetches += 1;
    return pRetry(() => fetcher.fetch(settings.url, etag), {
      retries, minTimeout: settings.retryMinTimeoutMs ?? 1000, factor: 2, randomize: true,
      // A bundle over the cap will be as large the next time: only what may pass is retried.
      shouldRetry: ({ error }) => !(error instanceof FetchFailed && error.reason === 'too_large'),
    });
  };

  /** Throws BundleRejected; `unchanged` when it is the bundle in force. */
  const consider = async (bytes: Uint8Array, where: string): Promise<{ kind: 'unchanged' } | { kind: 'new'; bundle: VerifiedBundle; policy: P }> => {
    const bundle = await verifyBundle(bytes, where, verifier, settings.allowUnsigned);
    if (active !== undefined) {
      if (bundle.loaded.digest === active.digest) return { kind: 'unchanged' };
      if (bundle.revision === active.revision) throw new BundleRejected('revision', `${where}: revision ${bundle.revision} is in force with other content; a changed policy needs a new revision`);
      if (bundle.revision < active.revision && !bundle.rollback) {
        throw new BundleRejected('revision', `${where}: revision ${bundle.revision} is lower than the revision in force (${active.revision}); a rollback must be signed with --rollback`);
      }
    }
    let policy: P;
    try {
      policy = await options.compile(bundle.loaded);
    } catch (error) {
      throw new BundleRejected('invalid', `${where}: the policy does not compile (${(error as Error).message})`, error);
    }
    return { kind: 'new', bundle, policy };
  };

  const keep = (bundle: VerifiedBundle, bytes: Uint8Array): void => {
    active = { revision: bundle.revision, digest: bundle.loaded.digest };
    if (settings.cacheDir === undefined) return;
    try {
      writeCachedBundle(settings.cacheDir, bytes);
    } catch (error) {
      logger.error({ dir: settings.cacheDir, err: (error as Error).message }, 'policy bundle: cannot keep the last known good bundle; a restart without the control plane will not have it');
    }
  };

  const pollNow = async (why: string): Promise<PollResult> => {
    let outcome;
    try {
      outcome = await fetchOnce(settings.retries ?? 2);
    } catch (error) {
      fail(error instanceof FetchFailed ? error.reason : 'unreachable', (error as Error).message, why);
      return 'failed';
    }
    if (closed) return 'failed';
    if (outcome.kind === 'not-modified') {
      lastSuccessAt = clock.now();
      return 'not-modified';
    }
    try {
      const result = await consider(outcome.body, settings.url);
      etag = outcome.etag;
      lastSuccessAt = clock.now();
      if (result.kind === 'unchanged') return 'unchanged';
      if (closed) return 'failed';
      options.install(result.policy, result.bundle);
      activations += 1;
      source = 'control-plane';
      lastError = undefined;
      keep(result.bundle, outcome.body);
      return 'activated';
    } catch (error) {
      fail(error instanceof BundleRejected ? error.reason : 'invalid', (error as Error).message, why);
      return 'rejected';
    }
  };

  const schedule = (): void => {
    if (closed) return;
    const delay = Math.round(settings.pollMs * (1 + POLL_JITTER * (2 * random() - 1)));
    timer = clock.setTimeout(() => {
      void handle.poll('poll').finally(schedule);
    }, delay);
  };

  const handle: PolicyBundleSource<P> = {
    async initial() {
      let cached: { bundle: VerifiedBundle; bytes: Uint8Array } | undefined;
      if (settings.cacheDir !== undefined) {
        const where = join(settings.cacheDir, CACHE_FILE);
        try {
          const bytes = readCachedBundle(settings.cacheDir);
          if (bytes !== undefined) cached = { bundle: await verifyBundle(bytes, where, verifier, settings.allowUnsigned), bytes };
        } catch (error) {
          logger.warn({ file: where, err: (error as Error).message }, 'policy bundle: the cached bundle cannot be used');
        }
      }
      // The cache's revision is the floor: a restart never goes back unless a rollback is signed.
      if (cached !== undefined) active = { revision: cached.bundle.revision, digest: cached.bundle.loaded.digest };
      // One attempt, no retries: a control plane that is down must not hold the start; the polls go on.
      let confirmed = false;
      try {
        const outcome = await fetchOnce(0);
        if (outcome.kind === 'fetched') {
          const result = await consider(outcome.body, settings.url);
          etag = outcome.etag;
          lastSuccessAt = clock.now();
          if (result.kind === 'new') {
            activations += 1;
            keep(result.bundle, outcome.body);
            logger.info({ url: settings.url, revision: result.bundle.revision, digest: result.bundle.loaded.digest, signed: result.bundle.signed }, 'policy bundle from the control plane');
            return result.policy;
          }
          confirmed = true; // the control plane serves the cached bundle
        }
      } catch (error) {
        fail(error instanceof FetchFailed || error instanceof BundleRejected ? error.reason : 'unreachable', (error as Error).message, 'start');
      }
      if (cached === undefined) {
        active = undefined;
        return undefined;
      }
      try {
        const policy = await options.compile(cached.bundle.loaded);
        if (confirmed) return policy;
        source = 'cache';
        logger.warn({ url: settings.url, revision: cached.bundle.revision, digest: cached.bundle.loaded.digest }, 'policy bundle: the last known good bundle from the cache is in force');
        return policy;
      } catch (error) {
        fail('invalid', `${join(settings.cacheDir!, CACHE_FILE)}: the cached policy does not compile (${(error as Error).message})`, 'start');
        active = undefined;
        return undefined;
      }
    },
    fellBackToFile() {
      source = 'file';
    },
    startPolling() {
      clock.clearTimeout(timer);
      schedule();
    },
    poll(why) {
      running ??= pollNow(why).finally(() => (running = undefined));
      return running;
    },
    status: () => ({
      url: settings.url, source, revision: active?.revision, digest: active?.digest, lastSuccessAt, lastError, fetches, failures: { ...failures }, activations,
    }),
    async close() {
      if (closed) return;
      closed = true;
      clock.clearTimeout(timer);
      await fetcher.close();
    },
  };
  return handle;
}
