// Writes the run into docs/performance.md (between the generated-section markers; the
// findings around them are kept) and the chart into docs/performance.svg.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderBudgetMarkdown, renderLinearityMarkdown, renderMarkdownTable, renderSvgChart } from './render.mjs';

// One generated section per server mode: `fast` (the default run) and `json` (the calibration run).
const startMarker = (mode) => `<!-- bench:generated:${mode}:start (written by \`npm run bench -- --write-docs\`; edit outside these markers) -->`;
const endMarker = (mode) => `<!-- bench:generated:${mode}:end -->`;
const chartFile = (mode) => (mode === 'fast' ? 'performance.svg' : `performance-${mode}.svg`);
const HEADINGS = {
  fast: 'Latest run (the cheapest server: the budget run)',
  json: 'Calibration run (a server that parses and serializes every message)',
};

const SKELETON = `# Performance

How much the proxy costs on the frame path, measured by the harness in \`bench/\`
(\`npm run bench\`; \`npm run bench -- --help\` lists the options). Every change to the frame
path is measured before and after.

${startMarker('fast')}
${endMarker('fast')}

${startMarker('json')}
${endMarker('json')}

## Findings
`;

export function generatedSection(result, summary) {
  const { meta } = result;
  const mode = meta.server;
  const pinned = meta.pinnedCpu === undefined ? 'not pinned' : `pinned to CPU ${meta.pinnedCpu} with taskset (client, proxy and server share one core)`;
  return [
    startMarker(mode),
    `## ${HEADINGS[mode] ?? `Run with the ${mode} server`}`,
    '',
    `- Date: ${meta.date}`,
    `- Machine: ${meta.machine.nproc} × ${meta.machine.cpuModel}, ${meta.machine.memoryGiB} GiB, Linux ${meta.machine.kernel}; Node ${meta.node}; ${pinned}`,
    `- Command: \`${meta.command}\``,
    `- ${meta.rounds} round${meta.rounds === 1 ? '' : 's'}; in each round every configuration runs every phase, the order rotating; figures are medians over the rounds, ratios are against direct.`,
    `- Calls: \`tools/call\` of the bench server's \`echo\`, response the same size as the request. 100 B = ${meta.sizes.smallRequestBytes}-byte request, ${meta.sizes.smallResponseBytes}-byte response; MB/s counts request and response bytes (10⁶ bytes).`,
    `- CPU and RSS are those of the process the client talks to: the proxy (for direct, the server itself). CPU from \`/proc/<pid>/stat\` utime+stime over the measured part of the phase. The bench client's CPU (\`process.cpuUsage\`) is shown for scale: pinned, it shares the core, so it is part of every calls/s.`,
    ...result.configurations.filter((c) => c.note).map((c) => `- ${c.label}: the proxy with \`${c.note}\`${c.detail ? `; ${c.detail}` : ''}.`),
    '',
    renderMarkdownTable(summary),
    '',
    `![Relative to direct](${chartFile(mode)})`,
    '',
    '### Budget',
    '',
    renderBudgetMarkdown(result.budget),
    '',
    '### Large frames (linearity)',
    '',
    `One call at a time, ${meta.linearityRepeats} times each, median; the proxy runs with \`--max-frame-bytes\` above the largest frame.`,
    '',
    renderLinearityMarkdown(result.linearity),
    '',
    result.mismatches === 0 ? 'Every response matched the request it answered.' : `**${result.mismatches} responses did not match.**`,
    endMarker(mode),
  ].join('\n');
}

export function writeDocs(root, result, summary) {
  const docPath = join(root, 'docs', 'performance.md');
  const current = existsSync(docPath) ? readFileSync(docPath, 'utf8') : SKELETON;
  const mode = result.meta.server;
  const start = current.indexOf(startMarker(mode));
  const end = current.indexOf(endMarker(mode));
  const section = generatedSection(result, summary);
  const next = start !== -1 && end > start
    ? `${current.slice(0, start)}${section}${current.slice(end + endMarker(mode).length)}`
    : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(docPath, next);
  const subtitle = `${result.meta.date}, ${result.meta.machine.nproc} × ${result.meta.machine.cpuModel}, Node ${result.meta.node}, ${result.meta.pinnedCpu === undefined ? 'unpinned' : 'one core'}`;
  const title = `Relative to direct, ${mode} server (1.0 = direct; longer is better)`;
  writeFileSync(join(root, 'docs', chartFile(mode)), renderSvgChart(summary, { title, subtitle }));
  return docPath;
}
