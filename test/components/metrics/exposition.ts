import type { Decision } from '../../../components/policy/index.js';
import type { ObservedFrame, RequestEnd } from '../../../components/pump/index.js';

/** A frame as the pump reports it, with these fields changed. */
export function observed(overrides: Partial<ObservedFrame> = {}): ObservedFrame {
  return {
    direction: 'client-to-server', phase: 'request', kind: 'request', method: 'tools/call', id: '1',
    line: Buffer.from('{}\n'), decisions: [], action: 'forward', at: 0, ...overrides,
  };
}

export function ended<T>(trace: T | undefined, request: ObservedFrame, outcome: RequestEnd['outcome'] = 'forwarded'): RequestEnd<T> {
  return { trace, request, outcome, reply: undefined, response: undefined, at: 0 };
}

export function decision(ruleId: string, effect: Decision['effect'], enforced: boolean): Decision {
  return { ruleId, kind: 'tools', phase: 'request', effect, enforced, reason: 'tool_not_allowed' };
}

/** The value of one sample in Prometheus text, matched by name and exact label set; undefined if absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const got = (match[2] ?? '').match(/[a-zA-Z_]\w*="(?:[^"\\]|\\.)*"/g)?.sort().join(',') ?? '';
    if (got === wanted) return Number(match[3]);
  }
  return undefined;
}

/** Every sample of a metric name, as `labels → value` lines (for cardinality checks). */
export function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/** name → type, from the `# TYPE` lines. */
export function types(text: string): Map<string, string> {
  return new Map(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.slice(7).split(' ') as [string, string]));
}
