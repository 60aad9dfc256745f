// The run's results as a text table (terminal), Markdown (docs/performance.md) and an SVG
// bar chart of each configuration relative to direct.
import { BUDGET, METRICS } from './metrics.mjs';

function formatNumber(value, digits) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatRatio(ratio) {
  return ratio === undefined ? '' : `${ratio.toFixed(2)}×`;
}

/** Rows of cells: the header, then one row per metric. */
function tableCells(summary) {
  const configs = summary.order;
  const header = ['metric (median of rounds)', ...configs.map((name) => summary.configs[name].label)];
  const rows = METRICS.filter((metric) => configs.some((name) => summary.configs[name].medians[metric.key] !== undefined)).map((metric) => [
    metric.label,
    ...configs.map((name) => {
      const { phases } = summary.configs[name];
      if (metric.phase !== undefined && phases !== undefined && !phases.includes(metric.phase)) return 'n/a';
      const value = summary.configs[name].medians[metric.key];
      const ratio = name === 'direct' || metric.perProcess ? undefined : summary.ratios[name]?.[metric.key];
      const text = formatNumber(value, metric.digits);
      return ratio === undefined ? text : `${text} (${formatRatio(ratio)})`;
    }),
  ]);
  return [header, ...rows];
}

export function renderTextTable(summary) {
  const cells = tableCells(summary);
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const line = (row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('   ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('   '), ...cells.slice(1).map(line)].join('\n');
}

export function renderMarkdownTable(summary) {
  const cells = tableCells(summary);
  const line = (row) => `| ${row.join(' | ')} |`;
  return [line(cells[0]), `|${cells[0].map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

function formatBudgetValue(line, value = line.value) {
  if (value === undefined) return 'not measured';
  if (line.kind === 'ratio') return formatRatio(value);
  if (line.kind === 'linearity' || line.kind === 'relative') return `${value.toFixed(2)}×`;
  if (line.kind === 'gapToReference') return value.toFixed(2);
  return `${value.toFixed(line.unit === 'µs' ? 2 : 1)} ${line.unit}`;
}

function verdict(line) {
  return line.pass === undefined ? 'n/a' : line.pass ? 'pass' : 'FAIL';
}

export function renderBudgetText(budget) {
  return budget.map((line) => {
    const reference = line.reference === undefined ? '' : `  (raw pipe: ${formatBudgetValue(line, line.reference)})`;
    return `${verdict(line).padEnd(4)}  ${line.text}: ${formatBudgetValue(line)}${reference}  [${line.config}]`;
  }).join('\n');
}

export function renderBudgetMarkdown(budget) {
  return [
    '| configuration | budget line | measured | result | raw pipe, for scale |',
    '| --- | --- | ---: | --- | ---: |',
    ...budget.map((line) => `| ${line.label ?? line.config} | ${line.text} | ${formatBudgetValue(line)} | ${verdict(line) === 'FAIL' ? '**FAIL**' : verdict(line)} | ${line.reference === undefined ? '—' : formatBudgetValue(line, line.reference)} |`),
  ].join('\n');
}

export function renderLinearityText(linearity) {
  const out = [];
  for (const [name, entry] of Object.entries(linearity)) {
    const sizes = entry.sizes.map((s) => `${s.mib} MiB ${formatNumber(s.ms, 1)} ms (${formatNumber(s.msPerMiB, 2)} ms/MiB)`).join(', ');
    out.push(`${entry.label}: ${sizes}; growth ${entry.growth.toFixed(2)}×; peak RSS ${formatNumber(entry.peakRssMB, 0)} MB`);
  }
  return out.join('\n');
}

export function renderLinearityMarkdown(linearity) {
  const entries = Object.values(linearity);
  if (entries.length === 0) return '_not run_';
  const sizes = entries[0].sizes.map((s) => s.mib);
  return [
    `| configuration | ${sizes.map((mib) => `${mib} MiB: ms (ms/MiB)`).join(' | ')} | per-MiB growth | peak RSS (MB) |`,
    `| --- | ${sizes.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...entries.map((entry) => `| ${entry.label} | ${entry.sizes.map((s) => `${formatNumber(s.ms, 1)} (${formatNumber(s.msPerMiB, 2)})`).join(' | ')} | ${entry.growth.toFixed(2)}× | ${formatNumber(entry.peakRssMB, 0)} |`),
  ].join('\n');
}

const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d', '#bab0ac'];
const escapeXml = (text) => String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/**
 * Horizontal bars: for each charted metric, each configuration's performance relative to
 * direct (throughput ratio; for latencies, direct ÷ configuration), so longer is better
 * everywhere and 1.0 is direct. The budget is marked on the bars of the configuration it is for.
 */
export function renderSvgChart(summary, { title = 'Relative to direct (1.0 = direct; longer is better)', subtitle = '' } = {}) {
  const configs = summary.order.filter((name) => name !== 'direct');
  const metrics = METRICS.filter((metric) => metric.chart);
  const budgetFor = (metric, name) => BUDGET.find((line) => line.metric === metric.key && line.kind === 'ratio' && line.config === name);
  const relative = (name, metric) => {
    const ratio = summary.ratios[name]?.[metric.key];
    if (ratio === undefined || ratio === 0) return undefined;
    return metric.better === 'higher' ? ratio : 1 / ratio;
  };
  const values = metrics.flatMap((metric) => configs.map((name) => relative(name, metric) ?? 0));
  const maxValue = Math.max(1.1, ...values) * 1.08;
  const barHeight = 16, barGap = 4, groupGap = 18, labelWidth = 170, plotWidth = 470, top = 58, right = 110;
  const groupHeight = configs.length * (barHeight + barGap) - barGap;
  const plotHeight = metrics.length * (groupHeight + groupGap) - groupGap;
  // The legend: one swatch per configuration, then the budget mark; it may widen the picture.
  const legend = [];
  let legendX = labelWidth;
  configs.forEach((name, c) => {
    const label = summary.configs[name].label;
    legend.push({ x: legendX, label, color: COLORS[c % COLORS.length] });
    legendX += 30 + label.length * 7;
  });
  const budgetLegendX = legendX;
  const width = Math.max(labelWidth + plotWidth + right, budgetLegendX + 200);
  const legendTop = top + plotHeight + 34;
  const height = legendTop + 24;
  const x = (value) => labelWidth + (value / maxValue) * plotWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${labelWidth}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${labelWidth}" y="38" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  for (let tick = 0; tick <= maxValue + 1e-9; tick += 0.25) {
    const tx = x(tick).toFixed(1);
    const major = Math.abs(tick - 1) < 1e-9;
    parts.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + plotHeight}" stroke="${major ? '#333' : '#ddd'}" stroke-width="${major ? 1.5 : 1}"${major ? '' : ' stroke-dasharray="2,3"'}/>`);
    parts.push(`<text x="${tx}" y="${top + plotHeight + 16}" text-anchor="middle" fill="#555">${tick.toFixed(2)}${major ? ' (direct)' : ''}</text>`);
  }
  metrics.forEach((metric, m) => {
    const groupTop = top + m * (groupHeight + groupGap);
    parts.push(`<text x="${labelWidth - 8}" y="${groupTop + groupHeight / 2 + 4}" text-anchor="end">${escapeXml(metric.chart)}</text>`);
    configs.forEach((name, c) => {
      const value = relative(name, metric);
      const y = groupTop + c * (barHeight + barGap);
      if (value === undefined) return;
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${(x(value) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${COLORS[c % COLORS.length]}"/>`);
      parts.push(`<text x="${(x(value) + 4).toFixed(1)}" y="${y + barHeight - 4}" fill="#222">${value.toFixed(2)}</text>`);
      const budget = budgetFor(metric, name);
      if (budget) {
        const limit = budget.min ?? 1 / budget.max;
        const bx = x(limit).toFixed(1);
        parts.push(`<line x1="${bx}" y1="${y - 2}" x2="${bx}" y2="${y + barHeight + 2}" stroke="#d62728" stroke-width="2.5"/>`);
      }
    });
  });
  for (const entry of legend) {
    parts.push(`<rect x="${entry.x}" y="${legendTop - 10}" width="12" height="12" fill="${entry.color}"/>`);
    parts.push(`<text x="${entry.x + 16}" y="${legendTop}">${escapeXml(entry.label)}</text>`);
  }
  parts.push(`<line x1="${budgetLegendX}" y1="${legendTop - 10}" x2="${budgetLegendX}" y2="${legendTop + 2}" stroke="#d62728" stroke-width="2.5"/>`);
  parts.push(`<text x="${budgetLegendX + 6}" y="${legendTop}">budget (passthrough, enforce)</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
