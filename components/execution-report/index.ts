/**
 * Execution reports: one line per invocation or lifecycle event, deterministic (canonical JSON,
 * injected clock and ids; only `timing` varies between runs), chained (each names the digest of
 * the one before), with checkpoint lines that name the format and, optionally, carry an Ed25519
 * signature of the chain so far; written as NDJSON by a sink that never blocks the frame path
 * for long, and verifiable line by line (format 2, and the per-line-signed format 1).
 *
 * Writing (chain, digests, sink, reporter, signing) never loads zod, which costs ~50 ms at
 * start: the schema and what needs it (verify, the verify command) load on first call.
 */
export type { Direction, InvocationInput, LifecycleInput, ReportInput } from './input.js';
export {
  REPORT_SCHEMA_NAME, REPORT_SCHEMA_VERSION, REPORT_FORMAT, REPORT_FORMAT_VERSION, CHECKPOINT_REASONS, DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_INTERVAL_MS, type CheckpointReason, DIRECTIONS, OUTCOMES, LIFECYCLE_EVENTS, TARGET_TYPES, type Outcome, type LifecycleEvent,
} from './constants.js';
export type {
  ExecutionReport, InvocationReport, LifecycleReport, ReportDecision, ReportPolicy, ReportTarget, ReportIdentity, ReportTiming,
  ReportSignature, LifecycleDetail, CheckpointRecord,
} from './schema.js';
export { DIGEST_PREFIX, DIGEST_PATTERN, UNHASHED_FIELDS, sha256Digest, canonicalText, digestOf, argumentsDigest, responseDigest } from './digest.js';
export { createReportChain, sequentialIds, defaultSessionSeed, type ReportChain, type ReportChainOptions, type AppendedReport, type EncodedReport } from './chain.js';
export { createSigner, loadSigningKey, loadPublicKey, keyIdOf, verifySignature, type ReportSigner, type ReportPublicKey, type SignatureCheck } from './sign.js';
export { openReportFileSink, type ReportFileSink, type ReportFileSinkOptions, type FsyncPolicy } from './file-sink.js';
export type { ReportSink, ReportSinkStats, OverflowPolicy, SinkLogger, SinkTarget, WriteQueueOptions } from './sink.js';
export { createWriteQueue, type WriteQueue } from './write-queue.js';
export type { SinkIo } from './rotate.js';
export { lastReportInFile, readFileTail, lastNewline, type LastReport, type FileTail } from './file-tail.js';
export { createReporter, type Reporter, type ReporterOptions } from './reporter.js';
export { createInvocationReports, NO_POLICY, type InvocationReportsOptions } from './invocation-reports.js';
export { boundedText, MAX_COPIED_CHARS } from './bounded-text.js';
export type { VerifyResult, VerifyProblem, VerifyOptions, ProblemKind, ChainEnd } from './verify.js';
export type { ReportVerifyIo } from './verify-command.js';

/** The zod schema of a report and its JSON Schema (docs/report.schema.json), loaded on demand. */
export function loadReportSchema(): Promise<typeof import('./schema.js')> {
  return import('./schema.js');
}

/** Verifies report files as one chain, oldest first (see verify.ts). Rejects when a file cannot be read. */
export async function verifyReportFiles(...args: Parameters<typeof import('./verify.js').verifyReportFiles>): Promise<import('./verify.js').VerifyResult> {
  return (await import('./verify.js')).verifyReportFiles(...args);
}

/** `mcp-sidecar report verify <file>... [--public-key <pem>]`: resolves with the exit code (0 intact, 1 broken, 2 usage). */
export async function runReportVerify(...args: Parameters<typeof import('./verify-command.js').runReportVerify>): Promise<number> {
  return (await import('./verify-command.js')).runReportVerify(...args);
}
