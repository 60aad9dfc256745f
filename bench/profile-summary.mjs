#!/usr/bin/env node
// Summarizes a .cpuprofile (node --cpu-prof; `npm run bench -- --profile` writes them to
// bench/results/profiles/): self time per function, largest first; with --under, also the total
// time spent inside each named function (its callees included), e.g. the policy step.
//   node bench/profile-summary.mjs <file.cpuprofile> [top=30] [--under name,name…]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
const underAt = args.indexOf('--under');
const under = underAt === -1 ? [] : args.splice(underAt, 2)[1]?.split(',').filter(Boolean) ?? [];
const [file, topArg] = args;
if (!file) {
  process.stderr.write('usage: profile-summary.mjs <file.cpuprofile> [top] [--under name,name…]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const selfUs = new Map();
const underUs = new Map(under.map((name) => [name, 0]));
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]);
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'}  ${url ? `${basename(url)}:${lineNumber + 1}` : ''}`;
  const us = deltas[i] ?? 0;
  selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  if (under.length > 0) {
    // Each named function on the sample's stack counts the sample once.
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parentOf.get(id)) {
      const name = byId.get(id).callFrame.functionName;
      if (underUs.has(name) && !seen.has(name)) {
        seen.add(name);
        underUs.set(name, underUs.get(name) + us);
      }
    }
  }
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = selfUs.get('(idle)  ') ?? 0;
process.stdout.write(`total ${(total / 1000).toFixed(1)} ms, busy ${((total - idle) / 1000).toFixed(1)} ms\n`);
for (const [name, us] of underUs) process.stdout.write(`under ${name}: ${(us / 1000).toFixed(1)} ms (${((100 * us) / (total - idle)).toFixed(1)}% of busy)\n`);
for (const [key, us] of [...selfUs].filter(([key]) => !key.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) {
  process.stdout.write(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / (total - idle)).toFixed(1).padStart(5)}%  ${key}\n`);
}
