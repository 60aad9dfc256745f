#!/usr/bin/env node
// The benchmark harness: `npm run bench` (see --help). Measures every configuration in
// lib/configurations.mjs, alternating them within each round, against the bench server,
// and prints a table of medians with each configuration's ratio to direct.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createConfigurations, PHASES } from './lib/configurations.mjs';
import { writeDocs } from './lib/docs.mjs';
import { textBytesForLine, createCall } from './lib/frames.mjs';
import { checkBudget, METRICS } from './lib/metrics.mjs';
import { handshake, measureColdStart, runPipelined, runSequential, runSingleFrames } from './lib/phases.mjs';
import { activityBetween, cpuBetween, describeMachine, readActivity, readCpu, readPeakRss, readRssSplit } from './lib/procfs.mjs';
import { freePort, HttpSession } from './lib/http-session.mjs';
import { renderBudgetText, renderLinearityText, renderTextTable } from './lib/render.mjs';
import { Session } from './lib/session.mjs';
import { median, percentile } from './lib/stats.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const MiB = 1024 * 1024;
const PINNED_ENV = 'MCP_BENCH_PINNED_CPU';

const USAGE = `npm run bench -- [options]

  --quick            a smoke run of a few seconds: every phase, tiny counts, one round;
                     checks every response, measures nothing worth reading
  --pin              pin the client, proxy and server to one core (taskset): the budget's setting
  --cpu <n>          the core for --pin (default 0)
  --rounds <n>       rounds (default 5; each runs every configuration through every phase)
  --only <a,b>       configurations to run besides direct (names: see the table's JSON)
  --phases <a,b>     sequential, inflight, kib16, mib1, cold, linearity (default: all)
  --json <file>      where to write the JSON (default bench/results/latest.json, or quick.json)
  --write-docs       write the table, budget and chart into docs/performance.md and .svg
  --server <mode>    fast (default): the cheapest server, so the proxy's cost shows;
                     json: the server JSON.parses every request and JSON.stringifies every
                     response, as a typical hand-written server does
  --cli <path>       the proxy build to measure (default dist/cli.js), e.g. another checkout's
                     dist/cli.js, to measure a change before and after in one run of the harness
  --baseline <path>  also measure another proxy build (a dist/cli.js) as "proxy (baseline)"
                     (and, if it has --policy, "observe (baseline)" and "enforce (baseline)"),
                     alternating with this one: before/after of a frame-path change in one run
  --policy <file>    the policy of the observe and enforce configurations
                     (default bench/policy.bench.yaml: realistic, denies and changes nothing)
  --bridges <dir>    also measure the stdio→Streamable HTTP bridges a user might pick instead,
                     installed there for the comparison only (not project dependencies):
                     npm install --prefix <dir> supergateway mcp-proxy
  --profile          run the proxy processes under node --cpu-prof (bench/results/profiles/)
  --proxy-node-args <flags>  extra node flags for the proxy processes (e.g. "--max-semi-space-size=2")
  --check-budget     exit 3 when a budget line fails (mismatches always exit 1)
  -h, --help         this text
`;

const FULL = {
  rounds: 5,
  sequential: { warmup: 1000, calls: 4000 },
  inflight: { inflight: 64, warmupCalls: 10_000, measureMs: 1500 },
  kib16: { inflight: 16, warmupCalls: 1000, measureMs: 1500 },
  mib1: { inflight: 4, warmupCalls: 24, measureMs: 2000 },
  coldSamples: 3,
  linearity: { mib: [4, 8, 32], repeats: 5 },
};
const QUICK = {
  rounds: 1,
  sequential: { warmup: 20, calls: 200 },
  inflight: { inflight: 64, warmupCalls: 500, maxCalls: 2000 },
  kib16: { inflight: 16, warmupCalls: 32, maxCalls: 200 },
  mib1: { inflight: 4, warmupCalls: 4, maxCalls: 12 },
  coldSamples: 1,
  linearity: { mib: [1, 2, 4], repeats: 1 },
};

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' }, pin: { type: 'boolean' }, cpu: { type: 'string' }, rounds: { type: 'string' },
      only: { type: 'string' }, phases: { type: 'string' }, json: { type: 'string' }, 'write-docs': { type: 'boolean' },
      server: { type: 'string' }, cli: { type: 'string' }, baseline: { type: 'string' }, policy: { type: 'string' }, bridges: { type: 'string' }, profile: { type: 'boolean' }, 'proxy-node-args': { type: 'string' }, 'check-budget': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const plan = values.quick ? QUICK : FULL;
  if (values.server !== undefined && !['fast', 'json'].includes(values.server)) throw new Error(`--server must be fast or json, got ${values.server}`);
  const phases = values.phases ? values.phases.split(',').map((p) => p.trim()) : PHASES;
  for (const phase of phases) if (!PHASES.includes(phase)) throw new Error(`unknown phase ${phase}; phases: ${PHASES.join(', ')}`);
  return {
    help: values.help ?? false,
    quick: values.quick ?? false,
    pin: values.pin ?? false,
    cpu: values.cpu ?? '0',
    rounds: values.rounds ? Number(values.rounds) : plan.rounds,
    only: values.only?.split(',').map((name) => name.trim()),
    phases: new Set(phases),
    json: values.json ?? join(RESULTS_DIR, values.quick ? 'quick.json' : 'latest.json'),
    writeDocs: values['write-docs'] ?? false,
    profile: values.profile ?? false,
    serverMode: values.server ?? 'fast',
    cli: values.cli === undefined ? undefined : resolve(values.cli),
    baseline: values.baseline === undefined ? undefined : resolve(values.baseline),
    policy: values.policy === undefined ? undefined : resolve(values.policy),
    bridges: values.bridges === undefined ? undefined : resolve(values.bridges),
    proxyNodeArgs: values['proxy-node-args']?.split(/\s+/).filter(Boolean) ?? [],
    checkBudget: values['check-budget'] ?? false,
    plan,
  };
}

// --pin: run this whole script again under taskset; its children inherit the affinity.
function repinIfAsked(options) {
  if (!options.pin || process.env[PINNED_ENV] !== undefined) return;
  const check = spawnSync('taskset', ['--version'], { encoding: 'utf8' });
  if (check.error) {
    process.stderr.write('bench: --pin needs taskset (util-linux), which was not found\n');
    process.exit(2);
  }
  const result = spawnSync('taskset', ['--cpu-list', options.cpu, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [PINNED_ENV]: options.cpu },
  });
  process.exit(result.status ?? 1);
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

function commandLine() {
  const args = process.argv.slice(2).map((arg) => (/^[\w./=,:-]+$/.test(arg) ? arg : `'${arg}'`));
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  return `node bench/run.mjs${args.length ? ` ${args.join(' ')}` : ''}`;
}

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Whether `config` runs `phase` (a phase that does not apply to it shows n/a). */
function runsPhase(config, phase) {
  return (config.phases ?? PHASES).includes(phase);
}

/** A fresh process of `config` and the client for it: stdio, or HTTP once the proxy listens. */
async function openSession(config, spawnOptions = {}) {
  if (config.transport !== 'http') return new Session({ name: config.label, ...config.spawn(spawnOptions) });
  const port = await freePort();
  return HttpSession.start({ name: config.label, ...config.spawn({ ...spawnOptions, port }) }, { port });
}

// Runs one phase against a fresh process of `config`; returns the round's figures for it.
async function runPhase(config, phase, options) {
  const plan = options.plan;
  const session = await openSession(config);
  const samples = {};
  const problems = [];
  let cpuStart, cpuEnd, activityStart, activityEnd, clientStart, clientCpu;
  const hooks = {
    onMeasureStart: () => {
      activityStart = readActivity(session.pid);
      cpuStart = readCpu(session.pid);
      clientStart = process.cpuUsage();
    },
    onMeasureEnd: () => {
      clientCpu = process.cpuUsage(clientStart);
      cpuEnd = readCpu(session.pid);
      activityEnd = readActivity(session.pid);
    },
  };
  // The bench client's own CPU: over HTTP it is no longer negligible, and pinned it shares the
  // core with the proxy and the server.
  const clientUsPerCall = (calls) => (clientCpu === undefined ? undefined : (clientCpu.user + clientCpu.system) / calls);
  let mismatches = 0;
  try {
    await handshake(session);
    if (phase === 'sequential') {
      const result = await runSequential(session, { textBytes: textBytesForLine(100), ...plan.sequential, ...hooks });
      samples.seqP50Us = percentile(result.latenciesUs, 50);
      samples.seqP90Us = percentile(result.latenciesUs, 90);
      samples.seqP99Us = percentile(result.latenciesUs, 99);
      samples.cpuUsPerCallSeq = cpuBetween(cpuStart, cpuEnd)?.statUs / result.calls;
      samples['sequential:clientCpuUsPerCall'] = clientUsPerCall(result.calls);
      samples.peakRssMB = readPeakRss(session.pid) / 1e6;
      ({ mismatches } = result);
      problems.push(...result.problems);
    } else {
      const spec = { inflight: plan.inflight, kib16: plan.kib16, mib1: plan.mib1 }[phase];
      const lineBytes = { inflight: 100, kib16: 16 * 1024, mib1: MiB }[phase];
      const result = await runPipelined(session, { textBytes: textBytesForLine(lineBytes), ...spec, ...hooks });
      const seconds = result.elapsedNs / 1e9;
      const cpu = cpuBetween(cpuStart, cpuEnd);
      const megabytes = (result.calls * (result.requestBytes + result.responseBytes)) / 1e6;
      ({ mismatches } = result);
      problems.push(...result.problems);
      // Diagnostics for every pipelined phase (JSON only): CPU split, system calls and context
      // switches per call, which show how well the process batches.
      const activity = activityBetween(activityStart, activityEnd);
      const perCall = (value) => (value === undefined ? undefined : value / result.calls);
      Object.assign(samples, {
        [`${phase}:userUsPerCall`]: perCall(cpu?.userUs),
        [`${phase}:systemUsPerCall`]: perCall(cpu?.systemUs),
        [`${phase}:preciseCpuUsPerCall`]: perCall(cpu?.preciseUs),
        [`${phase}:readsPerCall`]: perCall(activity?.reads),
        [`${phase}:writesPerCall`]: perCall(activity?.writes),
        [`${phase}:switchesPerCall`]: perCall(activity?.switches),
        [`${phase}:clientCpuUsPerCall`]: clientUsPerCall(result.calls),
      });
      if (phase === 'inflight') {
        samples.inflightCallsPerSec = result.calls / seconds;
        samples.cpuUsPerCall = cpu?.statUs / result.calls;
        samples.peakRssMB = readPeakRss(session.pid) / 1e6;
        // What the resident memory is made of at the end (JSON only): most of it is the node
        // binary's pages (file-backed), the same in every Node process.
        const split = readRssSplit(session.pid);
        samples['inflight:rssAnonMB'] = split && split.anon / 1e6;
        samples['inflight:rssFileMB'] = split && split.file / 1e6;
      } else if (phase === 'kib16') {
        samples.kib16MBps = megabytes / seconds;
        samples.cpuUsPerCall16KiB = cpu?.statUs / result.calls;
      } else {
        samples.mib1MBps = megabytes / seconds;
        samples.cpuUsPerMiB = cpu?.statUs / (megabytes / 1.048576 / 2); // per MiB of request (and as much response)
        samples.peakRssLargeMB = readPeakRss(session.pid) / 1e6;
      }
    }
  } finally {
    const exit = await session.close();
    problems.push(...session.problems);
    mismatches += session.problems.length;
    if (exit.code !== 0 && exit.code !== null) problems.push(`${config.label} exited with code ${exit.code}: ${session.stderrTail.trim()}`);
    if (session.stderrBytes > 0) log(`  note: ${config.label} wrote ${session.stderrBytes} bytes to stderr: ${session.stderrTail.trim().slice(0, 300)}`);
  }
  return { samples, mismatches, problems };
}

async function runLinearity(config, options) {
  const { mib, repeats } = options.plan.linearity;
  const largest = Math.max(...mib) * MiB;
  const session = await openSession(config, { maxFrameBytes: largest });
  const sizes = [];
  let mismatches = 0;
  const problems = [];
  try {
    await handshake(session);
    // Warm the path with a couple of 1 MiB frames first.
    const warm = await runSingleFrames(session, { textBytes: textBytesForLine(MiB), repeats: 2 });
    mismatches += warm.mismatches;
    for (const size of mib) {
      const result = await runSingleFrames(session, { textBytes: textBytesForLine(size * MiB), repeats });
      mismatches += result.mismatches;
      problems.push(...result.problems);
      const ms = median(result.times);
      sizes.push({ mib: size, ms, msPerMiB: ms / size, times: result.times });
    }
  } finally {
    const peak = readPeakRss(session.pid);
    await session.close();
    problems.push(...session.problems);
    mismatches += session.problems.length;
    const first = sizes[0], last = sizes.at(-1);
    return {
      label: config.label, sizes, growth: first && last ? last.msPerMiB / first.msPerMiB : undefined,
      peakRssMB: peak / 1e6, mismatches, problems,
    };
  }
}

function summarize(configs, perRound) {
  const summary = { order: configs.map((c) => c.name), configs: {}, ratios: {} };
  for (const config of configs) {
    const medians = {};
    const keys = new Set(perRound[config.name].flatMap((round) => Object.keys(round)));
    for (const key of keys) medians[key] = median(perRound[config.name].map((round) => round[key]));
    summary.configs[config.name] = { label: config.label, phases: config.phases ?? PHASES, medians, rounds: perRound[config.name] };
  }
  const direct = summary.configs.direct.medians;
  for (const config of configs) {
    if (config.name === 'direct') continue;
    summary.ratios[config.name] = {};
    for (const metric of METRICS) {
      const mine = summary.configs[config.name].medians[metric.key];
      if (mine !== undefined && direct[metric.key]) summary.ratios[config.name][metric.key] = mine / direct[metric.key];
    }
  }
  return summary;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  repinIfAsked(options);
  // Each run writes its report files in a directory of its own (two runs at once must not share
  // a file), fresh (an old chain would only make them grow), removed at exit (~400 MB a run).
  const runDir = join(RESULTS_DIR, 'runs', String(process.pid));
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(join(runDir, 'reports'), { recursive: true });
  process.on('exit', () => rmSync(runDir, { recursive: true, force: true }));
  const profileDir = join(RESULTS_DIR, 'profiles');
  if (options.profile) mkdirSync(profileDir, { recursive: true });
  const nodeArgs = [...options.proxyNodeArgs, ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];

  const all = createConfigurations({ root: ROOT, nodeArgs, resultsDir: runDir, serverMode: options.serverMode, cli: options.cli, baselineCli: options.baseline, policyFile: options.policy, bridgesDir: options.bridges });
  const configs = [];
  for (const config of all) {
    // direct always runs (the ratios' denominator); a baseline build runs with the configuration it is the baseline of.
    const selected = (name) => name === 'direct' || !options.only || options.only.includes(name);
    if (!selected(config.name) && !(config.baselineOf !== undefined && selected(config.baselineOf))) continue;
    const available = config.available();
    if (available === true) configs.push(config);
    else if (!options.only || options.only.includes(config.name)) log(`skipping ${config.label}: ${available}`);
  }

  const pinnedCpu = process.env[PINNED_ENV];
  log(`bench: ${options.quick ? 'quick smoke run' : `${options.rounds} rounds`}; ${options.serverMode} server; ${configs.map((c) => c.label).join(', ')}; ${pinnedCpu === undefined ? 'not pinned' : `pinned to CPU ${pinnedCpu}`}`);
  const perRound = Object.fromEntries(configs.map((c) => [c.name, []]));
  let mismatches = 0;
  const problems = [];
  const pipelinePhases = ['sequential', 'inflight', 'kib16', 'mib1'].filter((p) => options.phases.has(p));
  const started = Date.now();

  for (let round = 0; round < options.rounds; round++) {
    const figures = Object.fromEntries(configs.map((c) => [c.name, {}]));
    for (const phase of pipelinePhases) {
      for (const config of rotate(configs, round)) {
        if (!runsPhase(config, phase)) continue;
        const result = await runPhase(config, phase, options);
        Object.assign(figures[config.name], result.samples, {
          // RSS of the 100 B phases: the larger of the two.
          peakRssMB: Math.max(figures[config.name].peakRssMB ?? 0, result.samples.peakRssMB ?? 0) || undefined,
        });
        mismatches += result.mismatches;
        problems.push(...result.problems.map((p) => `${config.label}, ${phase}: ${p}`));
      }
      log(`  round ${round + 1}/${options.rounds}: ${phase} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    if (options.phases.has('cold')) {
      const coldConfigs = configs.filter((c) => runsPhase(c, 'cold'));
      const times = Object.fromEntries(coldConfigs.map((c) => [c.name, []]));
      for (let k = 0; k < options.plan.coldSamples; k++) {
        for (const config of rotate(coldConfigs, round + k)) {
          const { ms, mismatch } = await measureColdStart({ name: config.label, ...config.spawn({}) });
          times[config.name].push(ms);
          if (mismatch) {
            mismatches++;
            problems.push(`${config.label}, cold start: ${mismatch}`);
          }
        }
      }
      for (const config of coldConfigs) figures[config.name].coldStartMs = median(times[config.name]);
      log(`  round ${round + 1}/${options.rounds}: cold start done`);
    }
    for (const config of configs) perRound[config.name].push(figures[config.name]);
  }

  const linearity = {};
  if (options.phases.has('linearity')) {
    const largest = Math.max(...options.plan.linearity.mib) * MiB;
    for (const config of configs.filter((c) => c.maxFrameBytes >= largest && runsPhase(c, 'linearity'))) {
      const result = await runLinearity(config, options);
      mismatches += result.mismatches;
      problems.push(...result.problems.map((p) => `${config.label}, linearity: ${p}`));
      linearity[config.name] = result;
    }
    log('  large frames done');
  }

  const summary = summarize(configs, perRound);
  const budget = checkBudget(summary, linearity);
  const small = createCall(textBytesForLine(100));
  const machine = describeMachine();
  const result = {
    meta: {
      date: new Date().toISOString().slice(0, 10),
      timestamp: new Date().toISOString(),
      command: commandLine(),
      quick: options.quick,
      server: options.serverMode,
      cli: options.cli,
      baseline: options.baseline,
      policy: options.policy,
      rounds: options.rounds,
      pinnedCpu,
      node: process.version,
      machine: { nproc: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), ...machine },
      sizes: { smallRequestBytes: small.request.length, smallResponseBytes: small.response.length },
      plan: options.plan,
      linearityRepeats: options.plan.linearity.repeats,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      packageVersion: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    },
    configurations: configs.map((c) => ({
      name: c.name, label: c.label, transport: c.transport ?? 'stdio', phases: c.phases ?? PHASES,
      ...(c.note ? { note: c.note() } : {}), ...(c.detail ? { detail: c.detail() } : {}),
    })),
    summary: { medians: Object.fromEntries(Object.entries(summary.configs).map(([k, v]) => [k, v.medians])), ratios: summary.ratios },
    rounds: Object.fromEntries(Object.entries(summary.configs).map(([k, v]) => [k, v.rounds])),
    budget, // each line: its configuration, its limit (min/max), that configuration's figure (value), pass, and the raw pipe's figure (reference)
    linearity,
    mismatches,
    problems,
  };

  process.stdout.write(`\n${renderTextTable(summary)}\n`);
  if (Object.keys(linearity).length > 0) process.stdout.write(`\nlarge frames, one at a time:\n${renderLinearityText(linearity)}\n`);
  if (budget.length > 0) process.stdout.write(`\nbudget${pinnedCpu === undefined ? ' (set for runs pinned to one core: use --pin)' : ''}:\n${renderBudgetText(budget)}\n`);
  process.stdout.write(`\nmismatched responses: ${mismatches}\n`);
  for (const problem of problems.slice(0, 20)) process.stdout.write(`  ${problem}\n`);

  mkdirSync(dirname(resolve(options.json)), { recursive: true });
  writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  log(`JSON: ${options.json}`);
  if (options.writeDocs) log(`docs: ${writeDocs(ROOT, result, summary)}`);

  if (mismatches > 0 || problems.length > 0) return 1;
  if (options.checkBudget && budget.some((line) => line.pass === false)) return 3;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
