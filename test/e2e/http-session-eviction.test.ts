// End to end through the built CLI (dist/cli.js --http) under the default settings (4 sessions,
// 300 s idle timeout): the official SDK clients (v1 and v2) never send DELETE on close(), so
// without eviction the fifth short-lived client within five minutes was refused. Twenty short
// sessions in a row from each must all be served, each new one evicting an idle one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { ALLOW_REPO_SCRIPTS, CLI, ROOT, commandLine } from '../helpers/paths.js';
import { forceKill, groupPids, waitUntilGone } from '../helpers/proc-table.js';
import { ProxyProcess } from '../helpers/proxy-process.js';
import { waitForValue } from '../helpers/wait.js';

const SERVER_COMMAND = commandLine([process.execPath, join(ROOT, 'test', 'fixtures', 'governor', 'mcp-server.js')]);
const SESSIONS = 20;
const STARTED = 'started the MCP server';

/** The proxy's settings come from the test alone (its defaults), never from the environment it runs in. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MCP_PROXY_')));
}

function serverPids(proxy: ProxyProcess): number[] {
  return proxy.logs().filter((r) => r.msg === STARTED && typeof r.pid === 'number').map((r) => r.pid as number);
}

interface Exchange {
  readonly method: string;
  readonly status: number;
}

function tappedFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    log.push({ method: init?.method ?? 'GET', status: response.status });
    return response;
  };
}

/** One short session: connect, one tool call, close() as an application does (no DELETE sent by the SDK). */
type ShortSession = (url: URL, log: Exchange[]) => Promise<string>;

const v1Session: ShortSession = async (url, log) => {
  const client = new ClientV1({ name: 'e2e-eviction-v1', version: '1' });
  await client.connect(new TransportV1(url, { fetch: tappedFetch(log) }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} }) as { content: Array<{ text: string }> };
    return result.content[0]!.text;
  } finally {
    await client.close();
  }
};

const v2Session: ShortSession = async (url, log) => {
  const client = new ClientV2({ name: 'e2e-eviction-v2', version: '1' });
  await client.connect(new TransportV2(url, { fetch: tappedFetch(log) }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} }) as { content: Array<{ text: string }> };
    return result.content[0]!.text;
  } finally {
    await client.close();
  }
};

describe('Streamable HTTP through the CLI: SDK clients that never DELETE, under the default session cap', () => {
  let proxy: ProxyProcess;
  let url: URL;

  before(async () => {
    const args = [CLI, '--http', '127.0.0.1:0', '--proxy', SERVER_COMMAND, '--allow', ALLOW_REPO_SCRIPTS, '--log-level', 'info'];
    proxy = new ProxyProcess(spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    const serving = await proxy.waitForLog((r) => r.msg === 'serving MCP over Streamable HTTP', 10_000);
    assert.equal(serving.maxSessions, 4, 'the default cap');
    assert.equal(serving.idleTimeoutMs, 300_000, 'the default idle timeout');
    url = new URL(`http://127.0.0.1:${(serving.address as { port: number }).port}/mcp`);
  });

  after(async () => {
    const pids = serverPids(proxy);
    if (proxy.exit === undefined) {
      proxy.child.kill('SIGTERM');
      assert.deepEqual(await proxy.waitForExit(15_000), { code: 0, signal: null }, proxy.stderr.bytes.toString('utf8'));
    }
    for (const pid of pids) {
      const gone = await waitUntilGone(pid, 5000);
      if (!gone) forceKill(pid, true);
      assert.ok(gone, `server ${pid} is gone`);
      assert.deepEqual(groupPids(pid), [], `nothing is left of its process group ${pid}`);
    }
    assert.deepEqual(proxy.logs().filter((r) => (r.level ?? 0) >= 50), [], 'no error was logged');
  });

  for (const [kind, session] of [['v1', v1Session], ['v2', v2Session]] as const) {
    test(`${SESSIONS} short sessions in a row from the SDK ${kind} client: all served`, async () => {
      const log: Exchange[] = [];
      const evictionsBefore = proxy.logs().filter((r) => r.msg === 'evicted the least recently active idle HTTP session for a new one').length;
      for (let n = 0; n < SESSIONS; n++) {
        assert.match(await session(url, log), /^call \d+ by \d+$/, `session ${n} was served`);
      }
      assert.deepEqual(log.filter((e) => e.method === 'DELETE'), [], 'the client never ended its sessions');
      assert.deepEqual(log.filter((e) => e.status >= 500), [], 'nothing was refused');
      // Each session past the cap took the slot of an idle one.
      await waitForValue(() => proxy.logs().filter((r) => r.msg === 'evicted the least recently active idle HTTP session for a new one').length - evictionsBefore >= SESSIONS - 4, 'the evictions to be logged');
      const endings = proxy.logs().filter((r) => r.msg === 'HTTP session ending' && typeof r.reason === 'string' && r.reason.startsWith('evicted for a newer session'));
      assert.ok(endings.length >= SESSIONS - 4, `${endings.length} sessions ended by eviction`);
    });
  }
});
