// Dockerfile.sidecar, read: no Docker engine runs here, so the image is checked by what it says
// and by running, on this machine, the commands it would run (its health check, its entry
// point's configuration).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../components/config/index.js';
import { checkLaunch } from '../../components/proxy-process-governor/index.js';
import { environment, execForm, healthcheck, instructions, last, parseDockerfile, splitOptions, splitWords, type Stage } from './dockerfile.js';
import { PROXY_ENV, PROXY_ENV_PATTERN, ROOT, adjustPaths, flagOf, read, run, unknownFlags } from './support.js';

const text = read('Dockerfile.sidecar');
const dockerfile = parseDockerfile(text);
const runtime = dockerfile.stages.at(-1)!;
const runs = (stage: Stage) => instructions(stage, 'RUN').map((instruction) => instruction.rest);
const workdir = (stage: Stage) => last(stage, 'WORKDIR')?.rest.trim();

/** The image's paths as paths of this repository. */
const IMAGE_TO_REPO = [[`${workdir(runtime)}/`, ROOT]] as const;

const entrypoint = execForm(last(runtime, 'ENTRYPOINT')?.rest ?? 'null') ?? [];
const cmd = execForm(last(runtime, 'CMD')?.rest ?? '[]') ?? [];
const imageEnv = environment(runtime);

describe('Dockerfile.sidecar', () => {
  it('should build in one stage and run in another', () => {
    assert.ok(dockerfile.stages.length >= 2, `${dockerfile.stages.length} stage(s)`);
    const build = dockerfile.stages.find((stage) => stage !== runtime && runs(stage).some((r) => /\bnpm ci\b/.test(r)));
    assert.ok(build?.name, 'a named stage that runs npm ci');
    const buildRuns = runs(build);
    const install = buildRuns.find((r) => /\bnpm ci\b/.test(r))!;
    assert.doesNotMatch(install, /--omit=dev|--production/, 'the build stage installs the dev dependencies (typescript)');
    assert.ok(
      buildRuns.some((r) => /\bnpm run build\b/.test(r)) || !/--ignore-scripts/.test(install),
      'the build stage builds dist/: npm run build, or npm ci running prepare',
    );
    const copies = instructions(runtime, 'COPY').map((copy) => splitOptions(copy.rest));
    const dist = copies.find((copy) => copy.options.from === build.name && /\/dist\/?\s/.test(`${copy.body} `));
    assert.ok(dist, `the runtime stage copies dist/ from ${build.name}`);
  });

  it('should run on a Node LTS slim image, the same Node line as the build', () => {
    const match = /^node:(\d+)(?:\.\d+)*-(?:(bookworm|trixie)-)?slim$/.exec(runtime.image);
    assert.ok(match, `runtime FROM ${runtime.image}: an official node *-slim image`);
    const major = Number(match[1]);
    assert.ok(major % 2 === 0 && major >= 22, `Node ${major}: an LTS line (even) still supported`);
    for (const stage of dockerfile.stages) assert.equal(stage.image.split('-')[0], runtime.image.split('-')[0], `stage ${stage.name} on the same Node line`);
  });

  it('should install tini (and procps) and run tini as PID 1 in an exec-form ENTRYPOINT', () => {
    const install = runs(runtime).find((r) => /apt-get install/.test(r));
    assert.ok(install, 'the runtime stage installs packages');
    const packages = splitWords(install.split(/apt-get install/)[1]!.split('&&')[0]!).filter((w) => !w.startsWith('-'));
    assert.ok(packages.includes('tini'), `tini among ${packages.join(', ')}`);
    assert.ok(packages.includes('procps'), `procps among ${packages.join(', ')}`);
    assert.match(install, /--no-install-recommends/);
    assert.match(install, /rm -rf \/var\/lib\/apt\/lists/);
    assert.ok(entrypoint.length >= 4, `ENTRYPOINT in exec form: ${last(runtime, 'ENTRYPOINT')?.rest}`);
    assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node'], "Debian's tini is /usr/bin/tini");
    assert.match(entrypoint[3]!, /(^|\/)dist\/cli\.js$/);
    assert.equal(entrypoint.length, 4, 'nothing between the script and CMD');
  });

  it("should start the entry point that the build writes: dist/cli.js, next to the app's package.json", () => {
    const script = entrypoint[3]!;
    const absolute = script.startsWith('/') ? script : `${workdir(runtime)}/${script}`;
    assert.equal(absolute, `${workdir(runtime)}/dist/cli.js`, 'dist/ under WORKDIR');
    // tsc compiles cli.ts (rootDir .) to dist/cli.js, which reads ../package.json for --version.
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    assert.equal(tsconfig.compilerOptions.outDir, 'dist');
    assert.equal(tsconfig.compilerOptions.rootDir, '.');
    assert.ok(existsSync(join(ROOT, 'cli.ts')));
    const copiesPackageJson = instructions(runtime, 'COPY').some((copy) => {
      const { options, body } = splitOptions(copy.rest);
      return options.from === undefined && splitWords(body).includes('package.json') && ['./', `${workdir(runtime)}/`].includes(splitWords(body).at(-1)!);
    });
    assert.ok(copiesPackageJson, 'package.json copied into WORKDIR, the parent of dist/');
  });

  it('should install production dependencies only, without running prepare', () => {
    const installs = runs(runtime).filter((r) => /\bnpm (ci|install|i)\b/.test(r));
    assert.ok(installs.length > 0, 'the runtime stage runs npm ci');
    for (const install of installs) {
      assert.match(install, /\bnpm ci\b/, 'npm ci (the lockfile), not npm install');
      assert.match(install, /--omit=dev\b/);
      assert.match(install, /--ignore-scripts\b/, 'prepare (the build) must not run: typescript is absent');
    }
  });

  it('should run as a non-root user, by number', () => {
    const user = last(runtime, 'USER')?.rest.trim();
    assert.ok(user, 'USER in the runtime stage');
    const [name, group] = user.split(':');
    assert.ok(!['root', '0'].includes(name!), `USER ${user}`);
    assert.ok(group === undefined || !['root', '0'].includes(group), `USER ${user}: not the root group`);
    assert.match(name!, /^\d+$/, "numeric, so Kubernetes' runAsNonRoot can verify it");
    const userLine = last(runtime, 'USER')!.line;
    const afterUser = runtime.instructions.filter((instruction) => instruction.line > userLine).map((instruction) => instruction.keyword);
    assert.ok(!afterUser.includes('RUN') && !afterUser.includes('USER'), 'nothing runs after USER, and nothing switches back');
  });

  it('should only name flags and MCP_PROXY_* variables the proxy knows', () => {
    const problems = unknownFlags({ subcommand: undefined, flags: cmd.map(flagOf).filter((f): f is string => f !== undefined), line: `CMD ${JSON.stringify(cmd)}` });
    for (const name of text.match(PROXY_ENV_PATTERN) ?? []) if (!PROXY_ENV.has(name)) problems.push(name);
    assert.deepEqual(problems, []);
    assert.ok(cmd.includes('--proxy'), '--proxy has no variable: the default server is in CMD');
  });

  it('should start, with its defaults, as a governed HTTP sidecar with the admin endpoint on the pod IP', async () => {
    const env = Object.fromEntries(Object.entries(imageEnv).map(([name, value]) => [name, adjustPaths(value, IMAGE_TO_REPO)]));
    const args = cmd.map((word) => adjustPaths(word, IMAGE_TO_REPO));
    const request = await loadConfig(args, env);
    assert.equal(request.kind, 'run');
    if (request.kind !== 'run') return;
    const { config } = request;
    assert.equal(config.transport, 'http');
    assert.match(config.http!.listen.host, /^127\./, 'MCP on loopback: the agent shares the pod network namespace');
    assert.ok(config.admin, 'the admin endpoint is on (the HEALTHCHECK needs it)');
    assert.ok(['0.0.0.0', '::'].includes(config.admin.host), `admin on ${config.admin.host}: kubelet probes come to the pod IP`);
    const exposed = instructions(runtime, 'EXPOSE').flatMap((expose) => splitWords(expose.rest)).map((port) => Number(port.split('/')[0]));
    assert.ok(exposed.includes(config.admin.port) && exposed.includes(config.http!.listen.port), `EXPOSE ${exposed.join(' ')}`);
    assert.ok(config.policy, 'a policy is loaded');
    assert.equal(config.policy.document.mode, 'observe', 'the image starts from the observe baseline');
    // The default server is allowed by the default allowlist (paths as they are in the image).
    const decision = checkLaunch(config.argv, config.allow, { cwd: ROOT, pathVariable: process.env.PATH });
    assert.ok(decision.allowed, decision.allowed ? '' : decision.message);
    for (const token of config.argv.slice(1).filter((t) => t.startsWith('/'))) {
      assert.ok(existsSync(token), `${token} exists in the repository`);
      const copied = instructions(runtime, 'COPY').some((copy) => !splitOptions(copy.rest).options.from && splitWords(splitOptions(copy.rest).body).slice(0, -1).some((src) => token === join(ROOT, src) || token.startsWith(join(ROOT, src.replace(/\/?$/, '/')))));
      assert.ok(copied, `${token} is copied into the image`);
    }
  });

  it('should copy only what .dockerignore lets into the build context', () => {
    const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    // This matcher knows the two shapes the file uses: `*`, and `!<top-level name>[/]`.
    for (const pattern of patterns) assert.match(pattern, /^(\*|![^*?/[\]]+\/?)$/, `${pattern}: extend the test's matcher`);
    const included = (path: string) => {
      const top = path.replace(/^\.\//, '').split('/')[0]!;
      let inside = true;
      for (const pattern of patterns) {
        if (pattern === '*') inside = false;
        else if (pattern.slice(1).replace(/\/$/, '') === top) inside = true;
      }
      return inside;
    };
    for (const stage of dockerfile.stages) {
      for (const copy of instructions(stage, 'COPY')) {
        const { options, body } = splitOptions(copy.rest);
        if (options.from !== undefined) continue;
        for (const source of splitWords(body).slice(0, -1)) {
          assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: exists`);
          assert.ok(included(source), `COPY ${source}: not excluded by .dockerignore`);
        }
      }
    }
    for (const secret of ['node_modules', 'dist', '.git', 'bench']) assert.ok(!included(secret), `${secret} stays out of the context`);
  });

  describe('HEALTHCHECK', () => {
    let server: Server;
    let status = 200;
    let port = 0;
    const paths: string[] = [];
    before(async () => {
      server = createServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(req.url === '/healthz' ? status : 404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    const check = healthcheck(last(runtime, 'HEALTHCHECK')!);
    const command = check.command === 'NONE' ? [] : check.command;
    // The check, exactly as Docker runs it, with the image's environment and the admin port moved.
    const probe = (adminListen: string | undefined) => run(command, { ...imageEnv, MCP_PROXY_ADMIN_LISTEN: adminListen, PATH: process.env.PATH });

    it('should be an exec-form node command against an admin path, with a timeout', () => {
      assert.equal(command[0], 'node', 'slim images have no curl');
      assert.match(command.join(' '), /\/(healthz|readyz)\b/);
      assert.ok(check.options.timeout && check.options.interval, 'interval and timeout given');
      assert.ok(imageEnv.MCP_PROXY_ADMIN_LISTEN, 'the admin endpoint it checks is on by default');
    });

    it('should pass when /healthz answers 200 on the admin port', async () => {
      status = 200;
      const result = await probe(`0.0.0.0:${port}`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(paths.at(-1), '/healthz');
    });

    it('should fail when /healthz answers 503', async () => {
      status = 503;
      assert.equal((await probe(`0.0.0.0:${port}`)).code, 1);
    });

    it('should fail when nothing listens, or when the admin endpoint is off', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const freePort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      assert.equal((await probe(`127.0.0.1:${freePort}`)).code, 1);
      assert.equal((await probe(undefined)).code, 1);
    });
  });
});
