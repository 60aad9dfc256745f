import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ReportSinkStats } from '../execution-report/index.js';
import type { GovernorState } from '../proxy-process-governor/index.js';
import { internalErrorCount, type PumpObserver } from '../pump/index.js';
import type { TranscriptStats } from '../transcript/index.js';
import { registerCellHistogram, type CellHistogram } from './histogram.js';
import { OTHER, OUTCOME_LABELS, outcomeIndex } from './labels.js';
import { createMetricsObserver, DURATION_CELLS, durationCell, EFFECT_LABELS, frameCell } from './observer.js';

export const METRIC_PREFIX = 'mcp_sidecar_';
/** Tool calls take from a millisecond to a minute. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

export interface MetricsOptions {
  /** Where the metrics are registered; default: a registry of their own. */
  readonly registry?: Registry;
  /** Milliseconds from a monotonic clock, for invocation durations; default performance.now. */
  readonly clock?: () => number;
  /** prom-client's process and Node.js metrics, prefixed `mcp_sidecar_`; default true. */
  readonly defaultMetrics?: boolean;
}

/** A governed server as the metrics read it: the Governor fits. */
export interface UpstreamSource {
  readonly state: GovernorState;
  /** Runs started so far, minus one: its restarts. */
  readonly generation: number;
}

/** The policy in force: a CompiledPolicy fits. */
export interface PolicyInfo {
  readonly name: string;
  readonly revision: string;
  readonly digest: string;
  readonly mode: string;
}

type CircuitState = 'closed' | 'open' | 'half-open';
const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open'];

/** The sessions' circuit breakers as the metrics read them: the circuit-breaker component's UpstreamBreakers fits. */
export interface CircuitSource {
  /** Live sessions' breakers in each state. */
  counts(): Readonly<Record<CircuitState, number>>;
  /** Transitions of every session's breaker so far, by the state entered (never goes down). */
  readonly transitions: Readonly<Record<CircuitState, number>>;
}

/** A policy bundle source's status as the metrics read it (--policy-url): the policy-bundle component's PolicyBundleStatus fits. */
export interface PolicyBundleCounts {
  readonly source: string;
  readonly revision: number | undefined;
  readonly digest: string | undefined;
  /** Milliseconds since the epoch. */
  readonly lastSuccessAt: number | undefined;
  readonly fetches: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly activations: number;
}

export type ReportSinkCounts = Pick<ReportSinkStats, 'queued' | 'written' | 'dropped' | 'failures'>;
/** The report export's counters (--report-export) the metrics read. */
export interface ReportExportCounts { readonly exported: number; readonly failures: number; readonly lagBytes: number; readonly lastSuccessMs: number }
/** The transcript writer's counts (--record) the metrics read. */
export type TranscriptCounts = Pick<TranscriptStats, 'failures'>;

export interface Metrics {
  /** For the pump (one or many at once): frames, decisions, in-flight requests, durations. */
  readonly observer: PumpObserver<number>;
  readonly registry: Registry;
  /** Reads the server's state at each scrape; the returned function stops (its restarts stay counted). */
  trackUpstream(source: UpstreamSource): () => void;
  /** Reads the policy in force at each scrape (undefined: no policy file). */
  watchPolicy(read: () => PolicyInfo | undefined): void;
  /** Reads the report sink's counters at each scrape. */
  watchReportSink(read: () => ReportSinkCounts | undefined): void;
  /** Reads the transcript writer's counters at each scrape (undefined: no --record). */
  watchTranscript(read: () => TranscriptCounts | undefined): void;
  /** Reads the trace exporter's counters at each scrape (undefined: no --otlp-traces). */
  watchTraceExport(read: () => { readonly exported: number; readonly dropped: number } | undefined): void;
  /** Reads the report export's counters at each scrape (undefined: no --report-export). */
  watchReportExport(read: () => ReportExportCounts | undefined): void;
  /** Reads the number of open HTTP sessions at each scrape. */
  watchHttpSessions(read: () => number): void;
  /** Reads how many idle HTTP sessions were evicted for newer ones, and how many warm servers wait, at each scrape. */
  watchHttpEvictions(read: () => number): void;
  watchWarmServers(read: () => number): void;
  /** Reads the tool-pin mismatches seen so far, by definition kind, at each scrape (a pins rule's counts). */
  watchPinMismatches(read: () => Readonly<Record<string, number>>): void;
  /** Reads the policy bundle source at each scrape (undefined: no --policy-url). */
  watchPolicyBundle(read: () => PolicyBundleCounts | undefined): void;
  /** Reads the sessions' circuit breakers at each scrape (none: every state 0, no transitions). */
  watchCircuitBreakers(read: () => CircuitSource | undefined): void;
  /** The exposition, in Prometheus text format. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** States in which a server process runs under the governor. */
const UP_STATES: ReadonlySet<GovernorState> = new Set(['starting', 'ready', 'recovering']);
/** States in which client requests go straight to the server (see admin-endpoint's upstreamReadiness). */
const READY_STATES: ReadonlySet<GovernorState> = new Set(['starting', 'ready']);

function safely<T>(read: (() => T) | undefined): T | undefined {
  try {
    return read?.();
  } catch {
    return undefined; // a scrape never fails for one source
  }
}

/**
 * Service labels of `gateway_calls_total`. ObservedFrame.service only ever holds a servers file's
 * names (or ''), so this cap is a guard, not a limit an operator meets: past it, `other`.
 */
export const MAX_SERVICE_LABELS = 1000;

/** Client requests ended in gateway mode, by service and outcome: counted on plain numbers, read at scrape time. */
class GatewayCalls {
  readonly byService = new Map<string, Float64Array>();

  /** One client request's end; `service` is ObservedFrame.service, set only in gateway mode. */
  count(service: string, outcome: string): void {
    let cells = this.byService.get(service);
    if (cells === undefined) {
      const label = this.byService.size < MAX_SERVICE_LABELS ? service : OTHER;
      cells = this.byService.get(label) ?? new Float64Array(OUTCOME_LABELS.length);
      this.byService.set(label, cells);
    }
    cells[outcomeIndex(outcome)]! += 1;
  }
}

/**
 * The metrics observer, and in gateway mode each client request's end counted by its service too.
 * A separate series rather than a label on the others, so a --proxy exposition is unchanged; and
 * `onFrame` is the counting observer's own function: the frame path pays nothing for it.
 */
function withGatewayCalls(observer: PumpObserver<number>, calls: GatewayCalls): PumpObserver<number> {
  const { onFrame, onRequestEnd } = observer;
  return {
    onFrame,
    onRequestEnd(end) {
      onRequestEnd(end);
      const { service, direction } = end.request;
      if (service !== undefined && direction === 'client-to-server' && end.trace !== undefined) calls.count(service, end.outcome);
    },
  };
}

type Fill = (add: (labels: Record<string, string>, value: number) => void) => void;

// A counter whose value lives elsewhere (plain numbers on the frame path, a sink's stats):
// rebuilt from the source at each scrape, so nothing is paid between scrapes.
function mirrorCounter(registry: Registry, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  new Counter({
    name: METRIC_PREFIX + name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      fill((labels, value) => value > 0 && this.inc(labels, value));
    },
  });
}

function mirrorGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name: METRIC_PREFIX + name, help, registers: [registry], collect() { this.set(read()); } });
}

// The proxy's metrics. Created only with --admin: without it, none of this is loaded.
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  let durations!: CellHistogram; // registered below, in exposition order; observed only after this returns
  const { observer: countingObserver, counts } = createMetricsObserver(options.clock ?? (() => performance.now()), (cell, seconds) => durations.observe(cell, seconds));
  const gatewayCalls = new GatewayCalls();
  const observer = withGatewayCalls(countingObserver, gatewayCalls);
  const upstreams = new Set<UpstreamSource>();
  let retiredRestarts = 0;
  let readPolicy: (() => PolicyInfo | undefined) | undefined;
  let readSink: (() => ReportSinkCounts | undefined) | undefined;
  let readTranscript: (() => TranscriptCounts | undefined) | undefined;
  let readTraces: (() => { readonly exported: number; readonly dropped: number } | undefined) | undefined;
  let readExport: (() => ReportExportCounts | undefined) | undefined;
  let readSessions: (() => number) | undefined;
  let readEvictions: (() => number) | undefined;
  let readWarm: (() => number) | undefined;
  let readPinMismatches: (() => Readonly<Record<string, number>>) | undefined;
  let readBreakers: (() => CircuitSource | undefined) | undefined;
  let readBundle: (() => PolicyBundleCounts | undefined) | undefined;

  mirrorCounter(registry, 'frames_total', 'Frames judged by the proxy, by direction, kind (request, notification, response) and method (`other` for methods MCP does not define)', ['direction', 'kind', 'method'], (add) => {
    counts.frames.forEach((value, index) => value > 0 && add(frameCell(index), value));
  });
  mirrorCounter(registry, 'policy_decisions_total', 'Policy rule decisions, by rule id, effect (deny, rewrite) and whether enforced (false: observe mode, would have)', ['rule', 'effect', 'enforced'], (add) => {
    for (const [rule, cell] of counts.decisions) {
      cell.forEach((value, index) => add({ rule, effect: EFFECT_LABELS[index >> 1]!, enforced: index % 2 === 0 ? 'true' : 'false' }, value));
    }
  });
  mirrorCounter(registry, 'pin_mismatches_total', 'Listed definitions that did not match their tool pin (changed, unknown, unreadable), by kind (tool, prompt, resourceTemplate)', ['kind'], (add) => {
    const counts = readPinMismatches?.();
    if (counts !== undefined) for (const [kind, value] of Object.entries(counts)) add({ kind }, value);
  });
  mirrorCounter(registry, 'internal_errors_total', 'Frames whose handling failed inside the proxy (a bug): each was answered with an error and its session went on', [], (add) => add({}, internalErrorCount()));
  mirrorCounter(registry, 'gateway_calls_total', 'Gateway mode (--servers) only: client requests ended, by service (the namespace the request named; "" for none: the gateway\'s own requests and those it cannot place: a resource URI it refuses) and outcome', ['service', 'outcome'], (add) => {
    for (const [service, cells] of gatewayCalls.byService) cells.forEach((value, index) => add({ service, outcome: OUTCOME_LABELS[index]! }, value));
  });
  mirrorGauge(registry, 'invocations_in_flight', 'Requests started and not yet ended, both directions', () => counts.inFlight);
  durations = registerCellHistogram(registry, {
    name: `${METRIC_PREFIX}invocation_duration_seconds`, help: 'Time from a request to its end (answered, denied, failed, cancelled), by method and outcome',
    bounds: DURATION_BUCKETS_SECONDS, cellCount: DURATION_CELLS, labelsOf: durationCell,
  });

  const countStates = (states: ReadonlySet<GovernorState>) => (): number => [...upstreams].filter((u) => states.has(u.state)).length;
  mirrorCounter(registry, 'upstream_restarts_total', 'MCP server processes started after the first, of every session', [], (add) => {
    add({}, retiredRestarts + [...upstreams].reduce((sum, u) => sum + Math.max(0, u.generation), 0));
  });
  mirrorGauge(registry, 'upstream_up', 'MCP server processes running (starting, ready or recovering a session)', countStates(UP_STATES));
  mirrorGauge(registry, 'upstream_ready', 'MCP server processes taking requests (not restarting, recovering, stopping or failed)', countStates(READY_STATES));

  new Gauge<'name' | 'revision' | 'digest' | 'mode'>({
    name: `${METRIC_PREFIX}policy_info`, help: 'The policy in force (value 1): its name, revision, digest and effective mode', labelNames: ['name', 'revision', 'digest', 'mode'], registers: [registry],
    collect() {
      this.reset();
      const policy = safely(readPolicy);
      if (policy !== undefined) this.set({ name: policy.name, revision: policy.revision, digest: policy.digest, mode: policy.mode }, 1);
    },
  });

  mirrorCounter(registry, 'policy_bundle_fetches_total', 'Polls of the policy bundle URL (--policy-url), each with its retries', [], (add) => add({}, safely(readBundle)?.fetches ?? 0));
  mirrorCounter(registry, 'policy_bundle_failures_total', 'Policy bundle polls that ended without the control plane\'s bundle, by reason (unreachable, timeout, too_large, http_status: not fetched; format, signature, unsigned, invalid, revision: refused)', ['reason'], (add) => {
    for (const [reason, value] of Object.entries(safely(readBundle)?.failures ?? {})) add({ reason }, value);
  });
  mirrorCounter(registry, 'policy_bundle_activations_total', 'Policy bundles put in force (at start and since)', [], (add) => add({}, safely(readBundle)?.activations ?? 0));
  new Gauge<'revision' | 'digest' | 'source'>({
    name: `${METRIC_PREFIX}policy_bundle_info`, help: 'The policy bundle in force (value 1): its revision, digest, and source (control-plane, cache: the last known good at start, file: the --policy fallback)', labelNames: ['revision', 'digest', 'source'], registers: [registry],
    collect() {
      this.reset();
      const bundle = safely(readBundle);
      if (bundle !== undefined) this.set({ revision: bundle.revision === undefined ? '' : String(bundle.revision), digest: bundle.digest ?? '', source: bundle.source }, 1);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}policy_bundle_last_success_timestamp_seconds`, help: 'When the control plane last answered a poll well (a bundle in force, the same one, or 304); 0 before the first', registers: [registry],
    collect() {
      this.reset();
      const at = safely(readBundle)?.lastSuccessAt;
      if (at !== undefined) this.set(at / 1000);
    },
  });

  const sinkValue = (key: keyof ReportSinkCounts) => (): number => safely(readSink)?.[key] ?? 0;
  mirrorGauge(registry, 'report_queue_length', 'Execution reports waiting to be written (the sink\'s lag)', sinkValue('queued'));
  mirrorCounter(registry, 'reports_written_total', 'Execution reports written', [], (add) => add({}, sinkValue('written')()));
  mirrorCounter(registry, 'reports_dropped_total', 'Execution reports dropped: the queue was full under --report-on-overflow drop, or the sink was closed', [], (add) => add({}, sinkValue('dropped')()));
  mirrorCounter(registry, 'report_write_failures_total', 'Execution reports lost to write errors', [], (add) => add({}, sinkValue('failures')()));
  mirrorCounter(registry, 'trace_spans_exported_total', 'Spans the OpenTelemetry Collector took (--otlp-traces)', [], (add) => add({}, safely(readTraces)?.exported ?? 0));
  mirrorCounter(registry, 'trace_spans_dropped_total', 'Spans dropped because their export failed (--otlp-traces; the Collector down or refusing)', [], (add) => add({}, safely(readTraces)?.dropped ?? 0));
  mirrorCounter(registry, 'transcript_write_failures_total', 'Frames the transcript (--record) lost: they could not be serialized or written', [], (add) => add({}, safely(readTranscript)?.failures ?? 0));
  mirrorCounter(registry, 'reports_exported_total', 'Report lines the OTLP receiver acknowledged (--report-export; a batch sent again counts again)', [], (add) => add({}, safely(readExport)?.exported ?? 0));
  mirrorCounter(registry, 'report_export_failures_total', 'Export requests that failed (a status other than 2xx, a network error, a timeout) and are retried', [], (add) => add({}, safely(readExport)?.failures ?? 0));
  mirrorGauge(registry, 'report_export_lag_bytes', 'Bytes of the report files not acknowledged by the OTLP receiver yet (the export spool)', () => safely(readExport)?.lagBytes ?? 0);
  mirrorGauge(registry, 'report_export_last_success_timestamp_seconds', 'When the OTLP receiver last acknowledged a batch, in seconds since the epoch (0: never)', () => (safely(readExport)?.lastSuccessMs ?? 0) / 1000);
  mirrorGauge(registry, 'http_sessions', 'Open Streamable HTTP sessions (0 over stdio)', () => safely(readSessions) ?? 0);
  mirrorCounter(registry, 'http_sessions_evicted_total', 'Idle Streamable HTTP sessions evicted at the session cap for a newer session', [], (add) => add({}, safely(readEvictions) ?? 0));
  mirrorGauge(registry, 'warm_servers', 'Server processes spawned ahead of HTTP sessions, waiting for one (--warm-servers)', () => safely(readWarm) ?? 0);

  // One breaker per session: counts by state (bounded labels, never a session id), every state always present.
  new Gauge<'state'>({
    name: `${METRIC_PREFIX}circuit_breakers`, help: 'Live sessions\' circuit breakers, by state: closed, open (requests fail fast), half-open (one probe passes)', labelNames: ['state'], registers: [registry],
    collect() {
      const counts = safely(() => readBreakers?.()?.counts());
      for (const state of CIRCUIT_STATES) this.set({ state }, counts?.[state] ?? 0);
    },
  });
  mirrorCounter(registry, 'circuit_transitions_total', 'Circuit breaker transitions of every session, by the state entered (`to`: open, half-open, closed)', ['to'], (add) => {
    const transitions = safely(readBreakers)?.transitions;
    if (transitions === undefined) return;
    for (const to of ['open', 'half-open', 'closed'] as const) add({ to }, transitions[to]);
  });

  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  return {
    observer,
    registry,
    trackUpstream(source) {
      upstreams.add(source);
      return () => {
        if (upstreams.delete(source)) retiredRestarts += Math.max(0, source.generation);
      };
    },
    watchPolicy: (read) => void (readPolicy = read),
    watchReportSink: (read) => void (readSink = read),
    watchTranscript: (read) => void (readTranscript = read),
    watchTraceExport: (read) => void (readTraces = read),
    watchReportExport: (read) => void (readExport = read),
    watchHttpSessions: (read) => void (readSessions = read),
    watchHttpEvictions: (read) => void (readEvictions = read),
    watchWarmServers: (read) => void (readWarm = read),
    watchPinMismatches: (read) => void (readPinMismatches = read),
    watchCircuitBreakers: (read) => void (readBreakers = read),
    watchPolicyBundle: (read) => void (readBundle = read),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
