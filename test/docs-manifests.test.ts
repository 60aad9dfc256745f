// The manifests in docs/kubernetes.md are what operators paste: every ```yaml block must parse,
// every Kubernetes object in them be named, every MCP_PROXY_* variable they set be one the proxy
// reads, and the fleet setup (issue 17) hold its three systems, wired to each other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { LIST_SETTINGS, SCALAR_SETTINGS } from '../components/config/index.js';

const doc = readFileSync(new URL('../docs/kubernetes.md', import.meta.url), 'utf8');

interface Block { readonly line: number; readonly text: string }

/** Every ```yaml block, with the line its text starts on. */
function yamlBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```yaml\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== '```'; j++) body.push(lines[j]!.slice(indent));
    assert.ok(j < lines.length, `the yaml block at line ${i + 1} is closed`);
    blocks.push({ line: i + 2, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

type K8sObject = { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown }; [key: string]: unknown };

function objectsOf(block: Block): K8sObject[] {
  return parseAllDocuments(block.text).map((document) => document.toJS() as K8sObject).filter((value) => value !== null && typeof value === 'object' && 'apiVersion' in value);
}

const section = (title: string): string => {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `docs/kubernetes.md has a "${title}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
};

describe('docs/kubernetes.md manifests', () => {
  const blocks = yamlBlocks(doc);

  it('should parse every yaml block without an error or a warning', () => {
    assert.ok(blocks.length >= 8, `yaml blocks found: ${blocks.length}`);
    for (const block of blocks) {
      for (const [i, document] of parseAllDocuments(block.text).entries()) {
        assert.deepEqual([...document.errors, ...document.warnings].map((e) => e.message), [], `docs/kubernetes.md:${block.line}, document ${i + 1}`);
      }
    }
  });

  it('should give every Kubernetes object a kind and a name', () => {
    const objects = blocks.flatMap(objectsOf);
    assert.ok(objects.length >= 10);
    for (const object of objects) {
      assert.equal(typeof object.kind, 'string', JSON.stringify(object).slice(0, 200));
      assert.equal(typeof object.metadata?.name, 'string', `${String(object.kind)} has metadata.name`);
    }
  });

  it('should set only MCP_PROXY_* variables the proxy reads', () => {
    const known = new Set([...SCALAR_SETTINGS, ...LIST_SETTINGS].map((setting) => setting.env));
    const used = new Set(blocks.flatMap((block) => [...block.text.matchAll(/name: (MCP_PROXY_[A-Z0-9_]+)/g)].map((m) => m[1]!)));
    assert.ok(used.size > 10);
    assert.deepEqual([...used].filter((name) => !known.has(name)), []);
  });

  describe('Fleet setup', () => {
    const fleet = yamlBlocks(section('Fleet setup'));
    const objects = fleet.flatMap(objectsOf);
    const find = (kind: string, name: string): K8sObject => {
      const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
      assert.ok(found, `a ${kind} ${name}`);
      return found;
    };
    const containerOf = (deployment: K8sObject): Record<string, any> => (deployment as any).spec.template.spec.containers[0];
    const volumesOf = (deployment: K8sObject): Array<Record<string, any>> => (deployment as any).spec.template.spec.volumes;

    it('should serve the signed bundle from nginx: its config, the bundle ConfigMap mounted where the URL points, a Service', () => {
      const host = find('Deployment', 'mcp-policy-host');
      const conf = String((find('ConfigMap', 'mcp-policy-host') as any).data['default.conf']);
      assert.match(conf, /etag on;/);
      assert.match(conf, /location \/mcp-policy\/ \{\s*root \/srv;/);
      const bundles = volumesOf(host).find((volume) => volume['configMap']?.name === 'mcp-policy-bundles');
      assert.ok(bundles, 'the bundle ConfigMap is a volume');
      const mount = containerOf(host)['volumeMounts'].find((m: { name: string }) => m.name === bundles['name']);
      assert.equal(mount.mountPath, '/srv/mcp-policy');
      const service = find('Service', 'mcp-policy-host') as any;
      assert.deepEqual(service.spec.selector, host.spec !== undefined ? (host as any).spec.selector.matchLabels : undefined);
      assert.ok(section('Fleet setup').includes('--from-file=stable.bundle'), 'the bundle ConfigMap is made from the signed file');
      find('Secret', 'mcp-policy-public-key');
    });

    it('should run a Collector with an OTLP/HTTP receiver, a logs pipeline to a file on a volume, and a traces pipeline', () => {
      const collector = find('Deployment', 'mcp-otel-collector');
      const config = parse(String((find('ConfigMap', 'mcp-otel-collector') as any).data['config.yaml'])) as any;
      assert.equal(config.receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318');
      assert.deepEqual(config.service.pipelines.logs.receivers, ['otlp']);
      const logsExporter = config.service.pipelines.logs.exporters[0];
      assert.match(config.exporters[logsExporter].path, /^\/var\/lib\/otelcol\/reports\//);
      assert.deepEqual(config.service.pipelines.traces.receivers, ['otlp']);
      for (const processor of [...config.service.pipelines.logs.processors, ...config.service.pipelines.traces.processors]) assert.ok(processor in config.processors, processor);
      const reportsVolume = volumesOf(collector).find((volume) => volume['persistentVolumeClaim'] !== undefined)!;
      find('PersistentVolumeClaim', reportsVolume['persistentVolumeClaim'].claimName);
      assert.ok(containerOf(collector)['volumeMounts'].some((m: { name: string; mountPath: string }) => m.name === reportsVolume['name'] && m.mountPath === '/var/lib/otelcol/reports'));
      const service = find('Service', 'mcp-otel-collector') as any;
      assert.equal(service.spec.ports[0].port, 4318);
      assert.equal((collector as any).spec.template.spec.serviceAccountName, 'mcp-otel-collector');
    });

    it('should point the sidecar at the three: the bundle URL, key and cache, the Collector for reports and traces, the Redis', () => {
      const fragment = fleet.flatMap((block) => parseAllDocuments(block.text).map((document) => document.toJS() as any)).find((value) => value?.spec?.initContainers?.[0]?.name === 'mcp-sidecar');
      assert.ok(fragment, 'the sidecar\'s settings');
      const sidecar = fragment.spec.initContainers[0];
      const env = Object.fromEntries(sidecar.env.map((e: { name: string; value: string }) => [e.name, e.value]));
      const policyHost = find('Service', 'mcp-policy-host') as any;
      assert.equal(env.MCP_PROXY_POLICY_URL, `http://${policyHost.metadata.name}/mcp-policy/stable.bundle`);
      assert.equal(env.MCP_PROXY_REPORT_EXPORT, 'http://mcp-otel-collector:4318');
      assert.equal(env.MCP_PROXY_OTLP_TRACES, 'http://mcp-otel-collector:4318');
      const redis = blocks.flatMap(objectsOf).find((object) => object.kind === 'Service' && object.metadata?.name === 'mcp-rate-limits') as any;
      assert.equal(env.MCP_PROXY_REDIS_URL, `redis://${redis.metadata.name}:${redis.spec.ports[0].port}`, 'the Redis Service of the rate-limit section');
      const mountOf = (volume: string): string => sidecar.volumeMounts.find((m: { name: string }) => m.name === volume).mountPath;
      const secret = fragment.spec.volumes.find((v: any) => v.secret?.secretName === 'mcp-policy-public-key');
      assert.ok(env.MCP_PROXY_POLICY_PUBLIC_KEY.startsWith(`${mountOf(secret.name)}/`));
      assert.ok(String(env.MCP_PROXY_POLICY_PUBLIC_KEY).endsWith(Object.keys((find('Secret', 'mcp-policy-public-key') as any).stringData)[0]));
      const cache = fragment.spec.volumes.find((v: any) => v.emptyDir !== undefined);
      assert.equal(env.MCP_PROXY_POLICY_CACHE_DIR, mountOf(cache.name));
    });
  });
});
