// What the table shows, one row per metric, and the budget the passthrough and enforce are held to.
// `phase`: the phase that measures it (a configuration that does not run that phase shows n/a);
// the peak RSS of the 100 B phases comes from sequential and inflight both.

export const METRICS = [
  { key: 'seqP50Us', phase: 'sequential', label: 'sequential 100 B, p50 (µs)', better: 'lower', digits: 1, chart: 'sequential p50' },
  { key: 'seqP90Us', phase: 'sequential', label: 'sequential 100 B, p90 (µs)', better: 'lower', digits: 1 },
  { key: 'seqP99Us', phase: 'sequential', label: 'sequential 100 B, p99 (µs)', better: 'lower', digits: 1 },
  { key: 'inflightCallsPerSec', phase: 'inflight', label: '100 B, 64 in flight (calls/s)', better: 'higher', digits: 0, chart: '100 B, 64 in flight' },
  { key: 'kib16MBps', phase: 'kib16', label: '16 KiB, 16 in flight (MB/s)', better: 'higher', digits: 1, chart: '16 KiB calls' },
  { key: 'mib1MBps', phase: 'mib1', label: '1 MiB, 4 in flight (MB/s)', better: 'higher', digits: 1, chart: '1 MiB calls' },
  { key: 'coldStartMs', phase: 'cold', label: 'cold start to first response (ms)', better: 'lower', digits: 1, chart: 'cold start' },
  // Per-process figures: the proxy process alone (for direct, the server's own, for scale).
  { key: 'cpuUsPerCall', phase: 'inflight', label: 'CPU per call, 100 B ×64 (µs)', better: 'lower', digits: 2, perProcess: true },
  { key: 'inflight:userUsPerCall', phase: 'inflight', label: '  of which user (µs)', better: 'lower', digits: 2, perProcess: true },
  { key: 'inflight:systemUsPerCall', phase: 'inflight', label: '  of which system (µs)', better: 'lower', digits: 2, perProcess: true },
  { key: 'inflight:readsPerCall', phase: 'inflight', label: 'read syscalls per call, 100 B ×64', better: 'lower', digits: 3, perProcess: true },
  { key: 'inflight:writesPerCall', phase: 'inflight', label: 'write syscalls per call, 100 B ×64', better: 'lower', digits: 3, perProcess: true },
  { key: 'inflight:switchesPerCall', phase: 'inflight', label: 'context switches per call, 100 B ×64', better: 'lower', digits: 3, perProcess: true },
  // The bench client's own CPU, for scale: pinned, it shares the core, so it is part of every calls/s.
  { key: 'inflight:clientCpuUsPerCall', phase: 'inflight', label: 'bench client CPU per call, 100 B ×64 (µs)', better: 'lower', digits: 2, perProcess: true },
  { key: 'cpuUsPerCallSeq', phase: 'sequential', label: 'CPU per call, sequential (µs)', better: 'lower', digits: 1, perProcess: true },
  { key: 'cpuUsPerMiB', phase: 'mib1', label: 'CPU per MiB, 1 MiB calls (µs)', better: 'lower', digits: 0, perProcess: true },
  { key: 'peakRssMB', label: 'peak RSS, 100 B phases (MB)', better: 'lower', digits: 1, perProcess: true },
  { key: 'peakRssLargeMB', phase: 'mib1', label: 'peak RSS, 1 MiB phase (MB)', better: 'lower', digits: 1, perProcess: true },
];

// The budget, line by line, each for one configuration: the passthrough (`proxy`), and the proxy
// with the realistic policy in enforce mode (`enforce`, bench/policy.bench.yaml).
export const BUDGET = [
  { id: 'inflight', config: 'proxy', text: '100 B calls, 64 in flight ≥ 0.75× direct calls/s', metric: 'inflightCallsPerSec', kind: 'ratio', min: 0.75 },
  { id: 'sequential', config: 'proxy', text: 'sequential p50 ≤ 2× direct', metric: 'seqP50Us', kind: 'ratio', max: 2 },
  { id: 'kib16', config: 'proxy', text: '16 KiB calls ≥ 0.55× direct MB/s', metric: 'kib16MBps', kind: 'ratio', min: 0.55 },
  { id: 'mib1', config: 'proxy', text: '1 MiB calls ≥ 0.70× direct MB/s', metric: 'mib1MBps', kind: 'ratio', min: 0.7 },
  { id: 'cpu', config: 'proxy', text: 'proxy CPU per 100 B call ≤ 1.5 µs', metric: 'cpuUsPerCall', kind: 'absolute', max: 1.5, unit: 'µs' },
  { id: 'cold', config: 'proxy', text: 'cold start ≤ 2.5× direct', metric: 'coldStartMs', kind: 'ratio', max: 2.5 },
  { id: 'rss', config: 'proxy', text: 'proxy peak RSS in the 100 B phases ≤ 60 MB', metric: 'peakRssMB', kind: 'absolute', max: 60, unit: 'MB' },
  { id: 'linear', config: 'proxy', text: 'large frames cost linear in size (per-MiB time at the largest ≤ 1.5× at the smallest)', kind: 'linearity', max: 1.5 },
  { id: 'enforce-inflight', config: 'enforce', text: '100 B calls, 64 in flight ≥ 0.60× direct calls/s', metric: 'inflightCallsPerSec', kind: 'ratio', min: 0.6 },
  { id: 'enforce-cpu', config: 'enforce', text: 'proxy CPU per 100 B call ≤ 3 µs', metric: 'cpuUsPerCall', kind: 'absolute', max: 3, unit: 'µs' },
  { id: 'enforce-mib1', config: 'enforce', text: '1 MiB calls ≥ 0.70× direct MB/s', metric: 'mib1MBps', kind: 'ratio', min: 0.7 },
  // Issue 14: what a user turns the proxy on for (a policy enforced, with reports), and the passthrough next to the raw pipe.
  { id: 'i14-pipe-gap', config: 'proxy', text: '100 B calls/s ratio within 0.05 of the raw pipe\'s (issue 14)', metric: 'inflightCallsPerSec', kind: 'gapToReference', max: 0.05 },
  { id: 'i14-cpu', config: 'proxy', text: 'proxy CPU per 100 B call ≤ 1.3 µs (issue 14)', metric: 'cpuUsPerCall', kind: 'absolute', max: 1.3, unit: 'µs' },
  { id: 'i14-enforce-cpu', config: 'enforce', text: 'with reports: proxy CPU per 100 B call ≤ 5 µs (issue 14)', metric: 'cpuUsPerCall', kind: 'absolute', max: 5, unit: 'µs' },
  { id: 'i14-enforce-inflight', config: 'enforce', text: 'with reports: 100 B calls ≥ 0.30× direct calls/s (issue 14)', metric: 'inflightCallsPerSec', kind: 'ratio', min: 0.3 },
  { id: 'i14-enforce-cold', config: 'enforce', text: 'with reports: cold start ≤ 1.3× the passthrough\'s (issue 14)', metric: 'coldStartMs', kind: 'relative', relativeTo: 'proxy', max: 1.3 },
  { id: 'i14-enforce-rss', config: 'enforce', text: 'with reports: peak RSS in the 100 B phases ≤ 65 MB (issue 14)', metric: 'peakRssMB', kind: 'absolute', max: 65, unit: 'MB' },
  { id: 'i14-enforce-mib1', config: 'enforce', text: 'with reports: 1 MiB calls ≥ 0.50× direct MB/s (issue 14)', metric: 'mib1MBps', kind: 'ratio', min: 0.5 },
  { id: 'i14-noreport-cpu', config: 'enforce-noreport', text: 'proxy CPU per 100 B call ≤ 2.5 µs (issue 14)', metric: 'cpuUsPerCall', kind: 'absolute', max: 2.5, unit: 'µs' },
];

/** The configurations with budget lines, in order. */
export const BUDGET_CONFIGS = [...new Set(BUDGET.map((line) => line.config))];

// The raw byte pipe through a Node process: the floor any Node proxy stands on, shown next
// to each budget line for scale.
export const REFERENCE_CONFIG = 'pipe';

function figure(summary, linearity, config, line) {
  if (line.kind === 'ratio') return summary.ratios[config]?.[line.metric];
  if (line.kind === 'gapToReference') {
    const mine = summary.ratios[config]?.[line.metric];
    const reference = summary.ratios[REFERENCE_CONFIG]?.[line.metric];
    return mine === undefined || reference === undefined || config === REFERENCE_CONFIG ? undefined : reference - mine;
  }
  if (line.kind === 'relative') {
    const mine = summary.configs[config]?.medians[line.metric];
    const base = summary.configs[line.relativeTo]?.medians[line.metric];
    return mine === undefined || base === undefined ? undefined : mine / base;
  }
  if (line.kind === 'absolute') return summary.configs[config]?.medians[line.metric];
  return linearity?.[config]?.growth;
}

/** Each budget line whose configuration ran, checked against a summary: { ...line, label, value, pass, reference }. */
export function checkBudget(summary, linearity) {
  const results = [];
  for (const line of BUDGET) {
    const { config } = line;
    if (!summary.configs[config]) continue;
    const value = figure(summary, linearity, config, line);
    const pass = value === undefined ? undefined : (line.min === undefined || value >= line.min) && (line.max === undefined || value <= line.max);
    // A line measured against the pipe or another configuration has no raw-pipe figure of its own.
    const reference = line.kind === 'gapToReference' || line.kind === 'relative' ? undefined : figure(summary, linearity, REFERENCE_CONFIG, line);
    results.push({ ...line, label: summary.configs[config].label, value, pass, reference });
  }
  return results;
}
