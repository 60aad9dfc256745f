// `npm run fuzz -- [--seconds 600] [--seed N] [--frames N] [--e2e-frames N]`: the one-reading
// fuzzer for as long as asked (scripts/fuzz.mjs starts this through tsx). In process, every
// variant (no policy, the one-reading policy, readonly.yaml, observe mode with an observer) until
// the time or frame budget runs out; then an end-to-end slice through dist/cli.js (when built).
// Prints the seed first; a failure prints the seed and the minimal frame, and exits 1.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CLI, fixtureServer } from '../helpers/paths.js';
import { spawnProxy } from '../helpers/proxy-process.js';
import { CORPUS_FILE } from './corpus.js';
import { describeFailure, runPumpFuzz } from './engine.js';
import { runProcessFuzz } from './process-fuzz.js';
import { policyFromFile } from './pump-harness.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    frames: { type: 'string' },
    'e2e-frames': { type: 'string', default: '5000' },
  },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const seconds = Number(values.seconds);
const frames = values.frames === undefined ? Number.MAX_SAFE_INTEGER : Number(values.frames);
const e2eFrames = Number(values['e2e-frames']);
if (![seed, seconds, frames, e2eFrames].every(Number.isFinite)) {
  console.error('usage: npm run fuzz -- [--seconds 600] [--seed N] [--frames N] [--e2e-frames N]');
  process.exit(2);
}
console.log(`one-reading fuzz: seed ${seed}, ${seconds} s (replay: npm run fuzz -- --seed ${seed} --seconds ${seconds})`);

const policyFile = CORPUS_FILE.replace(/corpus\.json$/, 'policy.yaml');
const policy = await policyFromFile(policyFile);
const readonly = await policyFromFile(new URL('../../policies/readonly.yaml', import.meta.url).pathname);
const observing = await policyFromFile(policyFile, 'observe');
const report = await runPumpFuzz({
  seed, frames, seconds,
  variants: [
    { name: 'no policy' }, { name: 'one-reading policy', policy }, { name: 'readonly.yaml', policy: readonly },
    { name: 'observe mode with an observer', policy: observing, observer: () => ({ onFrame: (frame) => frame.method, onRequestEnd: () => undefined }) },
  ],
  log: (line) => console.log(line),
});
console.log(`in process: ${report.frames.client} client and ${report.frames.server} server frames, ${report.rounds} rounds, ${report.seconds} s`);
console.log(`  forwarded ${JSON.stringify(report.forwarded)}, refused ${JSON.stringify(report.refused)}, compared with the policy's reading ${report.judged}`);
console.log(`  heap after GC at checkpoints (MiB): ${report.heapMiB.join(', ')}`);
for (const [kind, gap] of Object.entries(report.gaps)) console.log(`  known gap ${kind}: ${gap.count}; minimal ${gap.minimal ?? '(did not shrink)'}`);
let failed = false;
const heapGrowth = report.heapMiB.length > 2 ? report.heapMiB.at(-1)! - report.heapMiB[1]! : 0;
if (heapGrowth > 32) {
  failed = true;
  console.log(`heap after GC grew by ${heapGrowth.toFixed(1)} MiB across the run (seed ${seed})`);
}
for (const failure of report.failures) {
  failed = true;
  console.log(describeFailure(failure, seed));
}

if (!failed && e2eFrames > 0) {
  if (!existsSync(CLI)) {
    console.log(`end to end: skipped (${CLI} is not built: npx tsc -p tsconfig.json)`);
  } else {
    const proxy = spawnProxy([process.execPath, fixtureServer('one-reading-server.js')], { logLevel: 'warn' });
    try {
      const e2e = await runProcessFuzz(proxy, { seed, frames: e2eFrames });
      console.log(`end to end: ${e2e.frames.client} client and ${e2e.frames.server} server frames in ${e2e.rounds} chunks, ${e2e.linesOut} lines out`);
      if (e2e.failure !== undefined) {
        failed = true;
        console.log(`end to end failure: ${e2e.failure}`);
      }
    } finally {
      await proxy.dispose();
    }
  }
}
process.exit(failed ? 1 : 0);
