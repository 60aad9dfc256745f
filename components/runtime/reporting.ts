/**
 * Execution reports and the transcript, opened at start: the report file (its chain continues
 * from the last report already in it), the signing key, the transcript file. Loaded only when
 * `--report-file` or `--record` is given, so a proxy without them pays nothing for them.
 *
 * Everything that can be wrong is found here, before the server starts: an unwritable path,
 * a full disk, a bad key — a clear error and exit code at start, not a loss later.
 */
import type { Clock } from '../clock/index.js';
import type { SidecarConfig } from '../config/index.js';
import { createInvocationReports, createReportChain, createReporter, loadSigningKey, openReportFileSink, type Reporter, type ReportSinkStats } from '../execution-report/index.js';
import type { Logger } from '../logging/index.js';
import { loadSecretScanner, type CompiledPolicy, type Identity } from '../policy/index.js';
import type { GovernorEvent } from '../proxy-process-governor/index.js';
import type { PumpObserver } from '../pump/index.js';
import type { ReportExport, ReportExportStats } from '../report-export/index.js';
import type { TranscriptStats, TranscriptWriter } from '../transcript/index.js';
import { holdUntilSettled, type FrameChannel, type HoldGate } from '../transport/index.js';

export interface Reporting {
  /** The observers for one pump (one session): reports and the transcript. */
  observers(identity: Identity | undefined, generation: () => number): PumpObserver[];
  /** A lifecycle report for an event of the child's. */
  /** `server`: in gateway mode, the service whose governor it is. */
  lifecycle(event: GovernorEvent, server?: string): void;
  /** A lifecycle report for a command the allowlist refused. */
  refused(reason: string): void;
  /**
   * A session's client channel, its writes held until the reports queued before them are in the
   * file (written; fsynced with `--report-fsync always`); the channel itself with `never` or
   * without a report file (docs/report.md, "A report before its answer").
   */
  holdAnswers(client: FrameChannel): FrameChannel;
  /** The report sink's counters, for metrics. */
  readonly sinkStats: Readonly<ReportSinkStats> | undefined;
  /** The export's counters (--report-export), for metrics. */
  readonly exportStats: Readonly<ReportExportStats> | undefined;
  /** The transcript's counts (`--record`), for the metrics. */
  readonly transcriptStats: Readonly<TranscriptStats> | undefined;
  /** Writes out what is queued and closes the files. */
  close(): Promise<void>;
}

export interface ReportingContext {
  readonly policy: () => CompiledPolicy | undefined;
  readonly logger: Logger;
  /** The timer of signed checkpoints (default: the system clock). */
  readonly clock?: Clock;
}

export async function openReporting(config: SidecarConfig, context: ReportingContext): Promise<Reporting> {
  const { logger } = context;
  const { redactSecrets, mayHoldSecretsInJson } = await loadSecretScanner();
  let reporter: Reporter | undefined;
  let answerGate: HoldGate | undefined;
  // Lifecycle reports go through the queue's reserved room: a queue full of invocation reports under `drop` never drops them.
  let reserved: <T>(run: () => T) => T = (run) => run();
  let reportExport: ReportExport | undefined;
  if (config.reports !== undefined) {
    const settings = config.reports;
    const signer = settings.signingKeyFile === undefined ? undefined : loadSigningKey(settings.signingKeyFile);
    // Before the sink opens: the export guards rotation, which counts the rotated files at open (docs/report.md "Export").
    if (settings.export !== undefined) {
      const { createReportExport } = await import('../report-export/index.js');
      reportExport = await createReportExport({ file: settings.file, rotateKeep: settings.rotateKeep, logger, clock: context.clock, ...settings.export });
    }
    const sink = openReportFileSink({
      path: settings.file,
      fsync: settings.fsync,
      fsyncIntervalMs: settings.fsyncIntervalMs,
      rotateBytes: settings.rotateBytes === 0 ? undefined : settings.rotateBytes,
      rotateKeep: settings.rotateKeep,
      queueLimit: settings.queueLimit,
      onOverflow: settings.onOverflow,
    }, logger);
    answerGate = sink.gate;
    reserved = sink.reserved;
    const chain = createReportChain({ prevDigest: sink.resume?.digest ?? null, nextSeq: (sink.resume?.seq ?? 0) + 1, signer });
    // A checkpoint every --report-checkpoint-every reports, and when signing --report-checkpoint-interval-ms after an uncovered one (docs/report.md).
    reporter = createReporter(chain, sink, { clock: context.clock, checkpointEvery: settings.checkpointEvery, checkpointIntervalMs: settings.checkpointIntervalMs, resumedFrom: sink.resume, reserved });
    logger.info({ file: settings.file, continuesFrom: sink.resume?.seq, signed: signer !== undefined, keyId: signer?.keyId }, 'execution reports are written to the report file');
    reportExport?.start();
  }
  let transcript: TranscriptWriter | undefined;
  if (config.record !== undefined) {
    const policy = context.policy();
    const { openTranscript } = await import('../transcript/index.js');
    transcript = await openTranscript({
      path: config.record.file,
      arguments: config.record.arguments,
      logger,
      policy: policy === undefined ? undefined : { name: policy.name, revision: policy.revision, digest: policy.digest, mode: policy.mode },
    });
    logger.info({ file: config.record.file, arguments: config.record.arguments }, 'the session is recorded to the transcript');
  }

  const lifecycle = (event: GovernorEvent, server?: string): void => {
    if (reporter === undefined || event.event === 'ready') return;
    const detail = event.event === 'spawn' ? { command: config.command }
      : event.event === 'exit' ? { exitCode: event.exitCode, signal: event.signal, reason: event.reason }
        : event.event === 'restart' ? { attempt: event.attempt, reason: `restarting after ${event.delayMs} ms` }
          // A later spawn refused (the executable lost its pinned sha256): reported as a refusal at start is.
          : event.event === 'refused' ? { command: config.command, reason: event.reason }
            : { exitCode: event.exitCode, reason: event.reason };
    const pid = event.event === 'spawn' || event.event === 'exit' ? event.pid : undefined;
    const lifecycleReporter = reporter;
    void reserved(() => lifecycleReporter.report({ kind: 'lifecycle', event: event.event, detail, generation: Math.max(0, event.generation), pid, ...(server !== undefined && { server }) }));
  };

  return {
    observers(identity, generation) {
      const observers: PumpObserver[] = [];
      if (reporter !== undefined) {
        observers.push(createInvocationReports({ reporter, policy: context.policy, generation, arguments: config.reports!.arguments, redactSecrets, mayHoldSecretsInJson, identity }) as PumpObserver);
      }
      if (transcript !== undefined) {
        const writer = transcript;
        // Every frame as received, with what the policy said: the transcript replays them.
        observers.push({ onFrame: (frame) => writer.record(frame), onRequestEnd: () => undefined });
      }
      return observers;
    },
    lifecycle,
    holdAnswers: (client) => (answerGate === undefined ? client : holdUntilSettled(client, answerGate)),
    refused(reason) {
      void reserved(() => reporter?.report({ kind: 'lifecycle', event: 'refused', detail: { command: config.command, reason }, generation: 0 }));
    },
    get transcriptStats() {
      return transcript?.stats;
    },
    get sinkStats() {
      return reporter?.sink.stats;
    },
    get exportStats() {
      return reportExport?.stats;
    },
    async close() {
      await Promise.all([reporter?.close(), transcript?.close()]);
      // After the reporter: its closing checkpoint is in the file, and the export's last pass ships it.
      await reportExport?.close();
    },
  };
}
