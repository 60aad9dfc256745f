// docs/kubernetes.md: its YAML parses, its pod is a native sidecar with the probes, volumes and
// grace period the proxy needs, and the sidecar's configuration (env, args, the ConfigMap's
// policy, the Secret's token) loads in the proxy's own config loader, with the volumes written
// out to a temporary directory.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type SidecarConfig } from '../../components/config/index.js';
import { buildPolicy } from '../../components/policy/index.js';
import { checkLaunch } from '../../components/proxy-process-governor/index.js';
import { EXIT_CODES } from '../../components/runtime/index.js';
import { environment, execForm, last, parseDockerfile, splitWords } from './dockerfile.js';
import { PROXY_ENV, PROXY_ENV_PATTERN, PROXY_FLAGS, ROOT, SUBCOMMAND_FLAGS, adjustPaths, fencedBlocks, flagOf, inlineCode, invocationsIn, read, unknownFlags } from './support.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A Kubernetes object, read loosely. */
type K8s = Record<string, any>;

const doc = read('docs/kubernetes.md');
const blocks = fencedBlocks(doc);
const yamlDocuments = blocks.filter((block) => block.lang === 'yaml').flatMap((block) => parseAllDocuments(block.body).map((document) => ({ block, document })));
const objects: K8s[] = yamlDocuments.map(({ document }) => document.toJS() as K8s);
const pod = objects.find((object) => object.kind === 'Pod')!;
const sidecar: K8s | undefined = pod?.spec?.initContainers?.find((container: K8s) => container.restartPolicy === 'Always');

const envOf = (container: K8s): Record<string, string> =>
  Object.fromEntries((container.env ?? []).filter((entry: K8s) => 'value' in entry).map((entry: K8s) => [entry.name, String(entry.value)]));

function quantity(text: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(text));
  assert.ok(match, `a memory quantity: ${text}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

/** The sidecar's volumes, written out under a temporary directory: mount path → directory. */
function materializeVolumes(): Array<readonly [string, string]> {
  const root = tempDir('k8s-volumes');
  const mapping: Array<readonly [string, string]> = [];
  for (const mount of sidecar!.volumeMounts ?? []) {
    const volume = pod.spec.volumes.find((v: K8s) => v.name === mount.name);
    assert.ok(volume, `volume ${mount.name} is declared`);
    const dir = join(root, mount.name);
    mkdirSync(dir, { recursive: true });
    let files: Record<string, string> = {};
    if (volume.configMap) {
      const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === volume.configMap.name);
      assert.ok(configMap, `ConfigMap ${volume.configMap.name} is in the doc`);
      files = configMap.data ?? {};
    } else if (volume.secret) {
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata?.name === volume.secret.secretName);
      assert.ok(secret, `Secret ${volume.secret.secretName} is in the doc`);
      files = { ...secret.stringData, ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])) };
    }
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    mapping.push([`${mount.mountPath.replace(/\/$/, '')}/`, `${dir}/`]);
  }
  return mapping;
}

const volumeMapping = sidecar ? materializeVolumes() : [];
/** Image and pod paths as paths on this machine: /app is the repository, mounts are the temporary directories. */
const POD_TO_LOCAL: Array<readonly [string, string]> = [['/app/', ROOT], ...volumeMapping];
const toLocal = (value: string) => adjustPaths(value, POD_TO_LOCAL);
const toPod = (value: string) => adjustPaths(value, POD_TO_LOCAL.map(([pod, local]) => [local, pod] as const));

async function sidecarConfig(): Promise<SidecarConfig> {
  const env = Object.fromEntries(Object.entries(envOf(sidecar!)).map(([name, value]) => [name, toLocal(value)]));
  const request = await loadConfig((sidecar!.args ?? []).map((arg: string) => toLocal(String(arg))), env);
  assert.equal(request.kind, 'run');
  return (request as { config: SidecarConfig }).config;
}

/** The mount a path (in the pod) lies under, if any. */
const mountOf = (path: string): K8s | undefined =>
  (sidecar!.volumeMounts ?? []).find((mount: K8s) => path.startsWith(`${mount.mountPath.replace(/\/$/, '')}/`));

describe('docs/kubernetes.md', () => {
  it('should hold YAML that parses, every document of every block', () => {
    assert.ok(yamlDocuments.length >= 3, 'a ConfigMap, a Secret and a Pod at least');
    for (const { block, document } of yamlDocuments) {
      assert.deepEqual(document.errors.map(String), [], `the yaml block at line ${block.line}`);
      assert.deepEqual(document.warnings.map(String), [], `the yaml block at line ${block.line}`);
    }
  });

  it('should run the proxy as a native sidecar: an init container with restartPolicy Always', () => {
    assert.ok(pod, 'a Pod manifest');
    assert.ok(sidecar, 'an init container with restartPolicy: Always');
    assert.match(sidecar.image, /mcp-sidecar/);
    assert.equal(sidecar.command, undefined, "no command: it would replace the image's ENTRYPOINT, and tini with it");
    assert.ok(pod.spec.containers.length >= 1, 'the agent as a main container');
  });

  it('should probe the admin port: liveness on /healthz, readiness on /readyz', async () => {
    const config = await sidecarConfig();
    assert.ok(config.admin, 'the admin endpoint is on');
    assert.ok(!/^(127\.|localhost$|::1$)/.test(config.admin.host), `admin on ${config.admin.host}: kubelet probes connect to the pod IP`);
    const portOf = (port: number | string) => (typeof port === 'number' ? port : sidecar!.ports.find((p: K8s) => p.name === port)?.containerPort);
    const expected: Record<string, string[]> = { livenessProbe: ['/healthz'], readinessProbe: ['/readyz'], startupProbe: ['/healthz', '/readyz'] };
    for (const [probe, paths] of Object.entries(expected)) {
      const spec = sidecar![probe];
      if (probe === 'startupProbe' && spec === undefined) continue;
      assert.ok(spec?.httpGet, `${probe} is an httpGet probe`);
      assert.ok(paths.includes(spec.httpGet.path), `${probe} on ${spec.httpGet.path}`);
      assert.equal(portOf(spec.httpGet.port), config.admin.port, `${probe} on the admin port`);
    }
  });

  it('should give the pod a grace period longer than the stop sequence', async () => {
    const config = await sidecarConfig();
    const stopSeconds = (config.drainTimeoutMs + config.stdinCloseGraceMs + config.killTimeoutMs) / 1000;
    const grace = pod.spec.terminationGracePeriodSeconds;
    assert.equal(typeof grace, 'number', 'terminationGracePeriodSeconds is set');
    // + 1 s for SIGKILL and its confirmation; the agent stops first, within the same period.
    assert.ok(grace > stopSeconds + 1, `terminationGracePeriodSeconds ${grace} > ${stopSeconds} + 1`);
  });

  it("should load the sidecar's configuration: the ConfigMap's policy, the Secret's token, writable report files", async () => {
    const config = await sidecarConfig();
    assert.equal(config.transport, 'http');
    assert.match(config.http!.listen.host, /^127\./, 'MCP on loopback: the agent shares the network namespace');
    assert.equal(config.auth?.kind, 'token', 'a bearer token from a file');
    assert.equal(mountOf(toPod(config.auth.tokenFile))?.name, pod.spec.volumes.find((v: K8s) => v.secret)?.name, 'the token file comes from the Secret volume');

    assert.ok(config.policy, 'the policy loads and validates');
    const policyPath = toPod(config.policy.source);
    const policyMount = mountOf(policyPath);
    assert.ok(policyMount, `${policyPath} is on a volume`);
    assert.ok(pod.spec.volumes.find((v: K8s) => v.name === policyMount.name)?.configMap, 'the policy comes from a ConfigMap');
    assert.equal(policyMount.subPath, undefined, 'no subPath: a subPath mount is never updated, so the policy would never reload');
    assert.equal(`${policyMount.mountPath.replace(/\/$/, '')}/`, `${dirname(policyPath)}/`, "the ConfigMap is the policy file's directory, which the proxy watches");
    await buildPolicy(config.policy, config.modeOverride); // every rule compiles
    assert.equal(config.modeOverride, 'observe', 'deployed in observe, as the rollout starts');

    assert.equal(sidecar!.securityContext?.readOnlyRootFilesystem, true);
    for (const file of [config.reports?.file, config.record?.file]) {
      assert.ok(file, 'reports and a transcript are written');
      const mount = mountOf(toPod(file));
      assert.ok(mount, `${toPod(file)} is on a volume, not the read-only root filesystem`);
      const volume = pod.spec.volumes.find((v: K8s) => v.name === mount.name);
      assert.ok(volume?.emptyDir || volume?.persistentVolumeClaim, `${toPod(file)} is on a writable volume`);
      assert.ok(!mount.readOnly, `${mount.mountPath} is mounted read-write`);
    }

    const decision = checkLaunch(config.argv, config.allow, { cwd: ROOT, pathVariable: process.env.PATH });
    assert.ok(decision.allowed, decision.allowed ? '' : decision.message);
  });

  it('should run as non-root, and request at least the measured memory', async () => {
    assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
    assert.notEqual(pod.spec.securityContext?.runAsUser, 0);
    const { requests, limits } = sidecar!.resources ?? {};
    assert.ok(requests?.memory && requests?.cpu, 'requests set');
    // The proxy alone was measured at 60 to 70 MB; its server shares the container.
    assert.ok(quantity(requests.memory) >= 70e6, `requests.memory ${requests.memory}`);
    assert.ok(limits?.memory && quantity(limits.memory) >= quantity(requests.memory), `limits.memory ${limits?.memory}`);
  });

  it('should only name flags and MCP_PROXY_* variables the proxy knows', () => {
    const problems: string[] = [];
    for (const name of doc.match(PROXY_ENV_PATTERN) ?? []) if (!PROXY_ENV.has(name)) problems.push(name);
    // Flags in the manifest's args.
    for (const arg of sidecar?.args ?? []) {
      const flag = flagOf(String(arg));
      if (flag && !PROXY_FLAGS.has(flag)) problems.push(`${flag} (in the sidecar's args)`);
    }
    // Flags on shell lines that run mcp-sidecar (or dist/cli.js).
    for (const block of blocks.filter((b) => !['yaml', 'dockerfile', 'json'].includes(b.lang))) {
      for (const line of block.body.split('\n').filter((l) => !/^\s*#/.test(l))) problems.push(...invocationsIn(line, splitWords(line)).flatMap(unknownFlags));
    }
    // Flags in inline code: the proxy's, a subcommand's, or another tool's named here.
    const OTHER_TOOLS = new Set(['--build-arg', '--stop-timeout']);
    const subcommandFlags = new Set([...SUBCOMMAND_FLAGS.values()].flatMap((set) => [...set]));
    for (const span of inlineCode(doc)) {
      const words = splitWords(span.replace(/…/g, ''));
      const invocations = invocationsIn(span, words);
      if (invocations.length > 0) problems.push(...invocations.flatMap(unknownFlags));
      else if (span.startsWith('--')) {
        const flag = flagOf(words[0]!)!;
        if (!PROXY_FLAGS.has(flag) && !subcommandFlags.has(flag) && !OTHER_TOOLS.has(flag)) problems.push(`${flag} (in \`${span}\`)`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("should show a team's image that the allowlist lets start its server", async () => {
    const example = blocks.find((block) => block.lang === 'dockerfile');
    assert.ok(example, 'a dockerfile example');
    const stage = parseDockerfile(example.body).stages.at(-1)!;
    assert.match(stage.image, /mcp-sidecar/, 'built FROM the sidecar image');
    const cmd = execForm(last(stage, 'CMD')!.rest)!;
    assert.equal(cmd[0], '--proxy');
    assert.deepEqual(cmd.map(flagOf).filter((f) => f && !PROXY_FLAGS.has(f)), []);
    const user = last(stage, 'USER')!.rest.trim().split(':')[0];
    assert.ok(user && !['root', '0'].includes(user), 'back to the non-root user');
    const env = environment(stage);
    for (const name of Object.keys(env)) assert.ok(!name.startsWith('MCP_PROXY_') || PROXY_ENV.has(name), name);
    const request = await loadConfig(cmd, env);
    assert.equal(request.kind, 'run');
    const { config } = request as { config: SidecarConfig };
    const decision = checkLaunch(config.argv, config.allow, { cwd: '/app', pathVariable: process.env.PATH });
    assert.ok(decision.allowed, decision.allowed ? '' : decision.message);
  });

  it('should list only real exit codes', () => {
    const section = doc.split('## When the sidecar exits')[1] ?? '';
    const codes = [...section.matchAll(/^\| (\d+) \|/gm)].map((match) => Number(match[1]));
    assert.ok(codes.length > 0);
    const known = new Set<number>(Object.values(EXIT_CODES));
    assert.deepEqual(codes.filter((code) => !known.has(code)), []);
  });
});
