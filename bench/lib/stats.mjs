// Order statistics over samples.

/** The p-th percentile (0..100) by nearest rank of the sorted values. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median of the defined values (the mean of the middle two for an even count). */
export function median(values) {
  const defined = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (defined.length === 0) return undefined;
  const mid = defined.length >> 1;
  return defined.length % 2 === 1 ? defined[mid] : (defined[mid - 1] + defined[mid]) / 2;
}
