/**
 * Signed policy bundles from a control plane (--policy-url): the bundle file format, its
 * signature (JWS, EdDSA or ES256), the poller with its last known good cache, and
 * `mcp-sidecar bundle sign|verify`. Loaded only when --policy-url is set or the command runs:
 * undici, p-retry and jose stay off every other start.
 */
export { BUNDLE_FORMAT, BUNDLE_JWS_TYPE, splitBundle, joinBundle } from './format.js';
export { signBundle, readPrivateKey, type SignOptions } from './sign.js';
export { verifyBundle, readPublicKey, BundleRejected, BUNDLE_ALGORITHMS, type VerifiedBundle, type BundleVerifier, type RejectionReason } from './verify.js';
export { createFetcher, FetchFailed, type BundleFetcher, type FetchOutcome, type FetchFailureReason } from './fetcher.js';
export { CACHE_FILE, readCachedBundle, writeCachedBundle } from './cache.js';
export {
  createPolicyBundleSource, FAILURE_REASONS, DEFAULT_BUNDLE_MAX_BYTES, DEFAULT_BUNDLE_TIMEOUT_MS,
  type PolicyBundleSettings, type PolicyBundleSource, type PolicyBundleSourceOptions, type PolicyBundleStatus, type PollResult, type FailureReason,
} from './source.js';
export { runBundleCommand } from './command.js';
