// The gateway end to end with the official clients: the SDK v1 client (@modelcontextprotocol/sdk)
// and the v2 client (@modelcontextprotocol/client) each start the built proxy over three real
// servers (test/fixtures/gateway-three-servers.ts) and list, call, read, get prompts, receive
// progress and a sampling request, cancel and page; and each compares what it gets through the
// gateway with what the same client gets from each server directly, names aside (a conformance-
// style check: the gateway adds a namespace and nothing else). Timeouts only keep a broken proxy
// from hanging the suite.
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema, type CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { LineReader } from '../helpers/line-reader.js';
import { forceKill, waitUntilGone } from '../helpers/proc-table.js';
import { logRecords, type LogRecord } from '../helpers/proxy-process.js';
import { ROOT } from '../helpers/paths.js';
import { cleanEnv, gatewayArgs, threeServers, type ThreeServers } from '../fixtures/gateway-three-servers.js';

type Json = Record<string, any>;
type ServiceName = 'everything' | 'fs' | 'memory';
const SERVICES: readonly ServiceName[] = ['everything', 'fs', 'memory'];

interface CallOptions {
  readonly onprogress?: (progress: Json) => void;
  readonly signal?: AbortSignal;
}

/** What the tests ask of a client, the same for v1 and v2 (their signatures differ a little). */
interface SdkClient {
  listTools(cursor?: string): Promise<Json>;
  listPrompts(cursor?: string): Promise<Json>;
  listResources(cursor?: string): Promise<Json>;
  readResource(uri: string): Promise<Json>;
  getPrompt(name: string, args?: Record<string, string>): Promise<Json>;
  callTool(name: string, args: Json, options?: CallOptions): Promise<Json>;
  serverInfo(): Json | undefined;
  capabilities(): Json | undefined;
  instructions(): string | undefined;
  /** The proxy's log records (a gateway connection), else none. */
  logs(): LogRecord[];
  close(): Promise<void>;
}

const SAMPLED = (text: string): CreateMessageResult => ({ model: 'gateway-e2e', role: 'assistant', stopReason: 'endTurn', content: { type: 'text', text: `sampled: ${text}` } });

function firstText(request: { params: { messages: Array<{ content: unknown }> } }): string {
  const content = request.params.messages[0]?.content as { text?: unknown } | undefined;
  return typeof content?.text === 'string' ? content.text : '';
}

/** Closes, then makes sure the child (and, through the proxy, its servers) is gone. */
async function closeAndReap(close: () => Promise<void>, pid: number | null | undefined): Promise<void> {
  await close().catch(() => {});
  if (typeof pid === 'number' && !(await waitUntilGone(pid, 5000))) forceKill(pid);
}

type Launch = { command: string; args: string[] };

function connectV1(launch: Launch): Promise<SdkClient> {
  return (async () => {
    const transport = new StdioV1({ ...launch, env: cleanEnv(), cwd: ROOT, stderr: 'pipe' });
    const stderr = new LineReader(transport.stderr as unknown as Readable, 'stderr');
    const client = new ClientV1({ name: 'gateway-e2e-v1', version: '1' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => SAMPLED(firstText(request)));
    try {
      await client.connect(transport);
    } catch (error) {
      await closeAndReap(() => client.close(), transport.pid);
      throw new Error(`${(error as Error).message}\nstderr:\n${stderr.bytes.toString('utf8')}`);
    }
    const pid = transport.pid;
    return {
      listTools: (cursor) => client.listTools(cursor === undefined ? undefined : { cursor }),
      listPrompts: (cursor) => client.listPrompts(cursor === undefined ? undefined : { cursor }),
      listResources: (cursor) => client.listResources(cursor === undefined ? undefined : { cursor }),
      readResource: (uri) => client.readResource({ uri }),
      getPrompt: (name, args) => client.getPrompt({ name, ...(args && { arguments: args }) }),
      callTool: (name, args, options) => client.callTool({ name, arguments: args }, undefined, { timeout: 20_000, ...options }) as Promise<Json>,
      serverInfo: () => client.getServerVersion(),
      capabilities: () => client.getServerCapabilities(),
      instructions: () => client.getInstructions(),
      logs: () => logRecords(stderr),
      close: () => closeAndReap(() => client.close(), pid),
    };
  })();
}

/** The v2 stdio transport probes `server/discover` on a sibling process unless subclassed: one process, in place. */
class InPlaceStdioV2 extends StdioV2 {}

function connectV2(launch: Launch, mode: 'legacy' | 'auto' = 'legacy'): Promise<SdkClient> {
  return (async () => {
    const transport = new InPlaceStdioV2({ ...launch, env: cleanEnv(), cwd: ROOT, stderr: 'pipe' });
    const stderr = new LineReader(transport.stderr as unknown as Readable, 'stderr');
    const client = new ClientV2({ name: 'gateway-e2e-v2', version: '2' }, { capabilities: { sampling: {} }, versionNegotiation: { mode } });
    client.setRequestHandler('sampling/createMessage', async (request) => SAMPLED(firstText(request as never)) as never);
    try {
      await client.connect(transport);
    } catch (error) {
      await closeAndReap(() => client.close(), transport.pid);
      throw new Error(`${(error as Error).message}\nstderr:\n${stderr.bytes.toString('utf8')}`);
    }
    const pid = transport.pid;
    // Lists are asked anew each time: a cached page would compare the cache with itself.
    const fresh = { cacheMode: 'no-cache' } as never;
    return {
      listTools: (cursor) => client.listTools(cursor === undefined ? undefined : { cursor }, fresh) as Promise<Json>,
      listPrompts: (cursor) => client.listPrompts(cursor === undefined ? undefined : { cursor }) as Promise<Json>,
      listResources: (cursor) => client.listResources(cursor === undefined ? undefined : { cursor }, fresh) as Promise<Json>,
      readResource: (uri) => client.readResource({ uri }, fresh) as Promise<Json>,
      getPrompt: (name, args) => client.getPrompt({ name, ...(args && { arguments: args }) }) as Promise<Json>,
      callTool: (name, args, options) => client.callTool({ name, arguments: args }, { timeout: 20_000, ...options } as never) as Promise<Json>,
      serverInfo: () => client.getServerVersion() as Json | undefined,
      capabilities: () => client.getServerCapabilities() as Json | undefined,
      instructions: () => client.getInstructions(),
      logs: () => logRecords(stderr),
      close: () => closeAndReap(() => client.close(), pid),
    };
  })();
}

/** Every page of a list, following nextCursor; the page count too. */
async function allPages(list: (cursor?: string) => Promise<Json>, items: string): Promise<{ items: Json[]; pages: number }> {
  const all: Json[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list(cursor);
    pages++;
    all.push(...(page[items] as Json[]));
    cursor = page['nextCursor'] as string | undefined;
    assert.ok(pages < 50, 'the pages end');
  } while (cursor !== undefined);
  return { items: all, pages };
}

/** The item with its namespace taken off its name, as its server listed it. */
function withoutPrefix(service: ServiceName, item: Json): Json {
  const name = item['name'] as string;
  assert.ok(name.startsWith(`${service}.`), `${name} is in the ${service} namespace`);
  return { ...item, name: name.slice(service.length + 1) };
}

const KINDS = [
  { label: 'SDK v1 client', connect: connectV1, aggregatesPages: false, probesDiscover: false },
  { label: 'SDK v2 client (legacy handshake)', connect: connectV2, aggregatesPages: true, probesDiscover: false },
  { label: 'SDK v2 client (auto negotiation)', connect: (launch: Launch) => connectV2(launch, 'auto'), aggregatesPages: true, probesDiscover: true },
] as const;

for (const kind of KINDS) {
  describe(`the gateway over three real servers, with the ${kind.label}`, () => {
    let servers: ThreeServers;
    let gateway: SdkClient;
    const direct = {} as Record<ServiceName, SdkClient>;

    before(async () => {
      servers = threeServers();
      const started = await Promise.all([
        kind.connect({ command: process.execPath, args: gatewayArgs(servers.serversFile) }),
        ...SERVICES.map((name) => kind.connect({ command: servers.argv[name][0]!, args: servers.argv[name].slice(1) })),
      ]);
      gateway = started[0]!;
      SERVICES.forEach((name, index) => (direct[name] = started[index + 1]!));
    });
    after(async () => {
      await Promise.all([gateway, ...Object.values(direct)].filter((c) => c !== undefined).map((c) => c.close()));
    });

    test('initialize: the gateway\'s server info, the merged capabilities, each service\'s instructions by name', () => {
      assert.equal(gateway.serverInfo()?.['name'], 'mcp-sidecar-gateway');
      const capabilities = gateway.capabilities() ?? {};
      for (const capability of ['tools', 'resources', 'prompts']) assert.ok(capabilities[capability] !== undefined, `${capability} is declared`);
      const instructions = gateway.instructions() ?? '';
      assert.match(instructions, /\[memory\] Remembers entities\./);
      const everything = direct.everything.instructions();
      if (everything !== undefined) assert.ok(instructions.includes(`[everything] ${everything}`), 'server-everything\'s instructions are under its name');
    });

    test('tools/list: every server\'s tools, namespaced, each entry otherwise as its server lists it', async () => {
      const { items: tools } = await allPages((cursor) => gateway.listTools(cursor), 'tools');
      for (const service of SERVICES) {
        const own = (await allPages((cursor) => direct[service].listTools(cursor), 'tools')).items;
        const through = tools.filter((tool) => (tool['name'] as string).startsWith(`${service}.`)).map((tool) => withoutPrefix(service, tool));
        assert.deepEqual(through, own, `${service}'s tools through the gateway`);
      }
      assert.equal(tools.length, (await Promise.all(SERVICES.map((s) => direct[s].listTools()))).reduce((sum, page) => sum + page['tools'].length, 0));
    });

    test('a tool name two servers share (echo) is listed for each, and each call reaches its own server', async () => {
      const names = (await gateway.listTools())['tools'].map((tool: Json) => tool['name']);
      assert.ok(names.includes('everything.echo') && names.includes('memory.echo'), names.join(', '));
      assert.deepEqual((await gateway.callTool('everything.echo', { message: 'héllo 漢' }))['content'], [{ type: 'text', text: 'Echo: héllo 漢' }]);
      assert.deepEqual((await gateway.callTool('memory.echo', { message: 'héllo 漢' }))['content'], [{ type: 'text', text: 'HÉLLO 漢' }]);
    });

    test('tools/call: the same result through the gateway as directly, for each server', async () => {
      const calls: Array<[ServiceName, string, Json]> = [
        ['everything', 'echo', { message: 'the same 🚀' }],
        ['everything', 'get-sum', { a: 2, b: 3.5 }],
        ['everything', 'get-structured-content', { location: 'New York' }],
        ['fs', 'read_text_file', { path: `${servers.dataDir}/hello.txt` }],
        ['fs', 'list_directory', { path: servers.dataDir }],
        ['fs', 'read_text_file', { path: '/etc/passwd' }],
        ['memory', 'create_entities', { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }] }],
        ['memory', 'read_graph', {}],
      ];
      for (const [service, tool, args] of calls) {
        const [through, own] = await Promise.all([gateway.callTool(`${service}.${tool}`, args), direct[service].callTool(tool, args)]);
        assert.deepEqual(through, own, `${service}.${tool}(${JSON.stringify(args)})`);
      }
    });

    test('resources: every page through the gateway\'s cursor is every server\'s resources, and a read is the same as directly', async () => {
      const through = await allPages((cursor) => gateway.listResources(cursor), 'resources');
      const owns = await Promise.all(SERVICES.map((service) => allPages((cursor) => direct[service].listResources(cursor).catch(() => ({ resources: [] })), 'resources')));
      assert.deepEqual(through.items, owns.flatMap((own) => own.items), 'the merged list is each server\'s, in the services\' order');
      // The v2 client walks every page itself when asked without a cursor: the last note is there only if the gateway's cursor was followed.
      assert.ok(through.items.some((resource) => resource['uri'] === 'memory://note/25'), 'the memory server\'s last page is reached through the gateway\'s cursor');
      if (!kind.aggregatesPages) assert.ok(owns[2]!.pages >= 3 && through.pages >= 3, `the memory server pages its resources (${owns[2]!.pages} pages) and so does the gateway (${through.pages})`);
      const document = through.items.find((resource) => (resource['uri'] as string).startsWith('demo://resource/static/document/'))?.['uri'] as string | undefined;
      assert.ok(document, 'a static document of server-everything is listed');
      for (const [service, uri] of [['everything', document], ['memory', 'memory://note/23']] as const) {
        assert.deepEqual(await gateway.readResource(uri), await direct[service].readResource(uri), `resources/read ${uri}`);
      }
    });

    test('prompts: listed namespaced, and a prompt is the same through the gateway as directly', async () => {
      const prompts = (await gateway.listPrompts())['prompts'] as Json[];
      for (const service of ['everything', 'memory'] as const) {
        const own = (await direct[service].listPrompts())['prompts'];
        assert.deepEqual(prompts.filter((p) => (p['name'] as string).startsWith(`${service}.`)).map((p) => withoutPrefix(service, p)), own);
      }
      assert.deepEqual(await gateway.getPrompt('everything.simple-prompt'), await direct.everything.getPrompt('simple-prompt'));
      assert.deepEqual(await gateway.getPrompt('memory.summarize', { topic: 'gateways' }), await direct.memory.getPrompt('summarize', { topic: 'gateways' }));
    });

    test('progress: a long-running tool\'s progress reaches the client, and its result is the one it gives directly', async () => {
      const steps = 3;
      const progress: Json[] = [];
      const args = { duration: 0.3, steps };
      const [through, own] = await Promise.all([
        gateway.callTool('everything.trigger-long-running-operation', args, { onprogress: (p) => progress.push(p) }),
        direct.everything.callTool('trigger-long-running-operation', args),
      ]);
      assert.deepEqual(through, own);
      // The SDK's callback may miss the last notification (it can share a read with the response).
      assert.ok(progress.length >= steps - 1, `${progress.length} progress callbacks`);
      progress.forEach((p, index) => assert.deepEqual({ progress: p['progress'], total: p['total'] }, { progress: index + 1, total: steps }));
    });

    test('sampling: a server asks the client through the gateway, and gets the client\'s answer', async () => {
      const result = await gateway.callTool('everything.trigger-sampling-request', { prompt: 'dîtes 漢', maxTokens: 7 });
      const text = result['content'][0].text as string;
      assert.ok(text.includes('"model": "gateway-e2e"') && text.includes('sampled: Resource trigger-sampling-request context: dîtes 漢'), text);
      assert.deepEqual(result, await direct.everything.callTool('trigger-sampling-request', { prompt: 'dîtes 漢', maxTokens: 7 }));
    });

    test('cancel: an aborted call is cancelled at its server (under the gateway\'s id), and the session goes on', async () => {
      const controller = new AbortController();
      const call = gateway.callTool('memory.sleep', { ms: 30_000 }, { signal: controller.signal });
      // The sleep is running at the memory server once `pending` (sent after it, to the same server) counts it.
      assert.deepEqual((await gateway.callTool('memory.pending', {}))['content'], [{ type: 'text', text: '1' }]);
      controller.abort('the test cancels');
      await assert.rejects(call, /cancels/);
      assert.deepEqual((await gateway.callTool('memory.pending', {}))['content'], [{ type: 'text', text: '0' }], 'the cancellation reached the memory server');
      assert.deepEqual((await gateway.callTool('everything.echo', { message: 'on' }))['content'], [{ type: 'text', text: 'Echo: on' }]);
    });

    test('a name in no namespace is an error, and nothing is forwarded', async () => {
      const outcome = await gateway.callTool('nowhere.echo', { message: 'x' }).then((result) => ({ result }), (error: Error & { code?: number }) => ({ code: error.code, message: error.message }));
      assert.equal((outcome as { code?: number }).code, -32602, JSON.stringify(outcome));
      assert.match((outcome as { message: string }).message, /nowhere\.echo is in no namespace/);
    });

    test('the proxy warned of nothing', () => {
      // Negotiating, the v2 client asks server/discover first: none of these servers speaks 2026-07-28, each answers an error (logged), and the client falls back to initialize.
      const expected = (r: LogRecord): boolean => kind.probesDiscover && (r as { method?: string }).method === 'server/discover';
      const warnings = gateway.logs().filter((r) => (r.level ?? 0) >= 40 && r.source !== 'server' && !expected(r));
      assert.deepEqual(warnings, []);
    });
  });
}
