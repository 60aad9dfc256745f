// The image's exact entry command, run here: ENTRYPOINT (after tini) + CMD, with the image's
// ENV, and /app/ read as this repository. Needs dist/ (npm test builds it first).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { environment, execForm, healthcheck, last, parseDockerfile } from './dockerfile.js';
import { ROOT, adjustPaths, read, run } from './support.js';

const runtime = parseDockerfile(read('Dockerfile.sidecar')).stages.at(-1)!;
const IMAGE_TO_REPO = [[`${last(runtime, 'WORKDIR')!.rest.trim()}/`, ROOT]] as const;
const entrypoint = execForm(last(runtime, 'ENTRYPOINT')!.rest)!;
/** What tini execs: `node /app/dist/cli.js`, as a command on this machine. */
const entryCommand = entrypoint.slice(entrypoint.indexOf('--') + 1).map((word) => adjustPaths(word, IMAGE_TO_REPO));
const cmd = execForm(last(runtime, 'CMD')!.rest)!.map((word) => adjustPaths(word, IMAGE_TO_REPO));
const imageEnv = Object.fromEntries(Object.entries(environment(runtime)).map(([name, value]) => [name, adjustPaths(value, IMAGE_TO_REPO)]));
const packageVersion = (JSON.parse(read('package.json')) as { version: string }).version;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor(url: string, accept: (status: number) => boolean, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (accept(response.status)) return response;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer as expected within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("the image's entry command", () => {
  it('should be node running the built CLI, which answers --version from the package.json beside dist/', async () => {
    assert.equal(entryCommand[0], 'node');
    const result = await run([...entryCommand, '--version'], { ...imageEnv, PATH: process.env.PATH });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), packageVersion);
  });

  // It starts exactly what the image starts, with
  // the two ports moved to free ones, and checks what the pod relies on: the probes' paths, the
  // HEALTHCHECK, MCP over HTTP on loopback, and a clean exit on SIGTERM within the grace period.
  it('should serve MCP over HTTP and the admin endpoint, pass its HEALTHCHECK, and stop cleanly on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const [httpPort, adminPort] = [await freePort(), await freePort()];
    const env = {
      ...imageEnv,
      MCP_PROXY_HTTP_LISTEN: imageEnv.MCP_PROXY_HTTP_LISTEN!.replace(/\d+$/, String(httpPort)),
      MCP_PROXY_ADMIN_LISTEN: imageEnv.MCP_PROXY_ADMIN_LISTEN!.replace(/\d+$/, String(adminPort)),
      PATH: process.env.PATH,
    };
    const [command, ...args] = [...entryCommand, ...cmd];
    const proxy = spawn(command === 'node' ? process.execPath : command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proxy.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => proxy.on('exit', (code) => resolve(code)));
    try {
      const admin = `http://127.0.0.1:${adminPort}`;
      await waitFor(`${admin}/healthz`, (status) => status === 200, 5000);
      await waitFor(`${admin}/readyz`, (status) => status === 200, 5000);
      const version = await (await fetch(`${admin}/version`)).text();
      assert.match(version, new RegExp(packageVersion.replaceAll('.', '\\.')));
      const metrics = await fetch(`${admin}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^mcp_sidecar_/m);

      const check = healthcheck(last(runtime, 'HEALTHCHECK')!);
      assert.notEqual(check.command, 'NONE');
      const probe = await run(check.command as string[], env);
      assert.equal(probe.code, 0, `HEALTHCHECK: ${probe.stderr}`);

      const initialize = await fetch(`http://127.0.0.1:${httpPort}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'image-test', version: '1' } } }),
      });
      assert.equal(initialize.status, 200, await initialize.clone().text());
      assert.match(await initialize.text(), /simple-mcp-server/);
    } finally {
      proxy.kill('SIGTERM');
    }
    // Defaults: drain 5 s + stdin close 2 s + kill 5 s + 1 s; an idle proxy is much faster.
    const code = await Promise.race([exited, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 13_000))]);
    if (code === 'late') proxy.kill('SIGKILL');
    assert.equal(code, 0, stderr);
  });
});
