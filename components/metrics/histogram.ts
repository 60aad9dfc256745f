import type { Metric, Registry } from 'prom-client';

/**
 * A histogram whose label sets are known in advance and numbered (cells): observing is a
 * bucket search and two additions, no label hashing. prom-client's own Histogram costs ~280 ns
 * per observation (it hashes and validates the label object each time), a fifth of the
 * proxy's whole CPU budget per call; this one costs ~10 ns.
 */
export interface CellHistogram {
  observe(cell: number, value: number): void;
}

// Per cell: bounds.length + 1 non-cumulative bucket counts (the last: above every bound), then the sum.
function createCells(bounds: readonly number[], cellCount: number): { histogram: CellHistogram; read(cell: number): { buckets: Float64Array; sum: number; count: number } | undefined; clear(): void } {
  const stride = bounds.length + 2;
  const data = new Float64Array(cellCount * stride);
  const last = bounds.length;
  return {
    histogram: {
      observe(cell, value) {
        let bucket = 0;
        while (bucket < last && value > bounds[bucket]!) bucket++;
        const base = cell * stride;
        data[base + bucket]! += 1;
        data[base + last + 1]! += value;
      },
    },
    read(cell) {
      const base = cell * stride;
      const buckets = data.subarray(base, base + last + 1);
      const count = buckets.reduce((a, b) => a + b, 0);
      return count === 0 ? undefined : { buckets, sum: data[base + last + 1]!, count };
    },
    clear: () => data.fill(0),
  };
}

interface Sample {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * Registers the histogram in a prom-client registry as a collector of the shape the registry
 * formats (name, help, type, get()), the way its own metrics are; tested against its output.
 */
export function registerCellHistogram(registry: Registry, options: { name: string; help: string; bounds: readonly number[]; cellCount: number; labelsOf: (cell: number) => Record<string, string> }): CellHistogram {
  const { name, help, bounds, cellCount, labelsOf } = options;
  const cells = createCells(bounds, cellCount);
  const collector = {
    name, help, type: 'histogram', aggregator: 'sum',
    async get() {
      const values: Sample[] = [];
      for (let cell = 0; cell < cellCount; cell++) {
        const state = cells.read(cell);
        if (state === undefined) continue;
        const labels = labelsOf(cell);
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += state.buckets[i]!;
          values.push({ metricName: `${name}_bucket`, labels: { le, ...labels }, value: cumulative });
        });
        values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: state.count });
        values.push({ metricName: `${name}_sum`, labels, value: state.sum });
        values.push({ metricName: `${name}_count`, labels, value: state.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset: () => cells.clear(),
  };
  registry.registerMetric(collector as unknown as Metric);
  return cells.histogram;
}
