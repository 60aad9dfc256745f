// The gateway end to end with the official clients: the SDK v1 client (@modelcontextprotocol/sdk)
// and the v2 client (@modelcontextprotocol/client) each start the built proxy over three real
// servers, server-everything, server-filesystem and server-memory, and a paging fixture
// (test/fixtures/gateway-three-servers.ts), and list, call, read, get prompts, receive progress and
// a sampling request, cancel and page; and each compares what it gets through the gateway with what
// the same client gets from each server directly, names aside (a conformance-style check: the
// gateway adds a namespace and nothing else; server-memory directly runs on a graph file of its
// own, so both start empty and take the same calls). Timeouts only keep a broken proxy from
// hanging the suite.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
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
import { MEMORY_DEFAULT_FILE, cleanEnv, gatewayArgs, pauseServer, resumeServer, threeServers, type ServiceName, type ThreeServers } from '../fixtures/gateway-three-servers.js';

type Json = Record<string, any>;
/** The services that list tools (the paging fixture lists only resources). */
const TOOL_SERVICES: readonly ServiceName[] = ['everything', 'fs', 'memory'];

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

type Launch = { command: string; args: string[]; env?: Readonly<Record<string, string>> };

function connectV1(launch: Launch): Promise<SdkClient> {
  return (async () => {
    const transport = new StdioV1({ ...launch, env: { ...cleanEnv(), ...launch.env }, cwd: ROOT, stderr: 'pipe' });
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
    const transport = new InPlaceStdioV2({ ...launch, env: { ...cleanEnv(), ...launch.env }, cwd: ROOT, stderr: 'pipe' });
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

/** The first of `client`'s log records from index `from` on that `predicate` accepts, once there is one. */
async function logAfter(client: SdkClient, from: number, predicate: (record: LogRecord) => boolean): Promise<LogRecord> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = client.logs().slice(from).find(predicate);
    if (found !== undefined) return found;
    assert.ok(Date.now() < deadline, 'the log record came');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
    // Made here, not in before(): its folder is removed when this describe ends (a hook's own after() would end sooner).
    const servers: ThreeServers = threeServers({ paging: true });
    let gateway: SdkClient;
    const direct = {} as Record<ServiceName, SdkClient>;

    before(async () => {
      const started = await Promise.all([
        // Debug: the cancellation test reads the gateway's records of a call forwarded, cancelled, answered late.
        kind.connect({ command: process.execPath, args: gatewayArgs(servers.serversFile, 'debug') }),
        ...servers.services.map((name) => kind.connect({ command: servers.argv[name][0]!, args: servers.argv[name].slice(1), env: servers.directEnv[name] })),
      ]);
      gateway = started[0]!;
      servers.services.forEach((name, index) => (direct[name] = started[index + 1]!));
    });
    after(async () => {
      await Promise.all([gateway, ...Object.values(direct)].filter((c) => c !== undefined).map((c) => c.close()));
    });

    test('initialize: the gateway\'s server info, the merged capabilities, each service\'s instructions by name', () => {
      assert.equal(gateway.serverInfo()?.['name'], 'mcp-sidecar-gateway');
      const capabilities = gateway.capabilities() ?? {};
      for (const capability of ['tools', 'resources', 'prompts']) assert.ok(capabilities[capability] !== undefined, `${capability} is declared`);
      const instructions = gateway.instructions() ?? '';
      const everything = direct.everything.instructions();
      assert.ok(everything !== undefined && instructions.startsWith(`[everything] ${everything}`), 'server-everything\'s instructions are under its name');
      assert.equal(direct.memory.instructions(), undefined, 'server-memory gives none');
      assert.doesNotMatch(instructions, /\[(fs|memory|pages)\]/, 'a service without instructions adds none');
    });

    test('tools/list: every server\'s tools, namespaced, each entry otherwise as its server lists it', async () => {
      const { items: tools } = await allPages((cursor) => gateway.listTools(cursor), 'tools');
      for (const service of TOOL_SERVICES) {
        const own = (await allPages((cursor) => direct[service].listTools(cursor), 'tools')).items;
        const through = tools.filter((tool) => (tool['name'] as string).startsWith(`${service}.`)).map((tool) => withoutPrefix(service, tool));
        assert.deepEqual(through, own, `${service}'s tools through the gateway`);
      }
      assert.equal(tools.length, (await Promise.all(TOOL_SERVICES.map((s) => direct[s].listTools()))).reduce((sum, page) => sum + page['tools'].length, 0));
      for (const name of ['memory.create_entities', 'memory.read_graph', 'memory.search_nodes']) assert.ok(tools.some((tool) => tool['name'] === name), `${name} is listed`);
    });

    test('tools/call: the same result through the gateway as directly, for each server', async () => {
      // Each call, and whether its server refuses it (isError): the same either way through the gateway.
      const calls: Array<[ServiceName, string, Json, 'refused'?]> = [
        ['everything', 'echo', { message: 'the same 🚀' }],
        ['everything', 'get-sum', { a: 2, b: 3.5 }],
        ['everything', 'get-structured-content', { location: 'New York' }],
        ['fs', 'read_text_file', { path: `${servers.dataDir}/hello.txt` }],
        ['fs', 'list_directory', { path: servers.dataDir }],
        ['fs', 'read_text_file', { path: '/etc/passwd' }, 'refused'],
        // server-memory's graph: the gateway's server and the direct one each start on an empty file of its own.
        ['memory', 'create_entities', { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }, { name: 'Analytical Engine', entityType: 'machine', observations: [] }] }],
        ['memory', 'create_entities', { entities: [{ name: 'Ada', entityType: 'person', observations: [] }] }],
        ['memory', 'create_relations', { relations: [{ from: 'Ada', to: 'Analytical Engine', relationType: 'programmed' }] }],
        ['memory', 'add_observations', { observations: [{ entityName: 'Analytical Engine', contents: ['designed by Babbage 漢'] }] }],
        ['memory', 'add_observations', { observations: [{ entityName: 'Nobody', contents: ['x'] }] }, 'refused'],
        ['memory', 'search_nodes', { query: 'babbage' }],
        ['memory', 'open_nodes', { names: ['Ada'] }],
        ['memory', 'read_graph', {}],
      ];
      for (const [service, tool, args, refused] of calls) {
        const [through, own] = await Promise.all([gateway.callTool(`${service}.${tool}`, args), direct[service].callTool(tool, args)]);
        assert.deepEqual(through, own, `${service}.${tool}(${JSON.stringify(args)})`);
        assert.equal(through['isError'] === true, refused === 'refused', `${service}.${tool}(${JSON.stringify(args)}): ${JSON.stringify(through)}`);
      }
      const graph = (await gateway.callTool('memory.read_graph', {}))['structuredContent'];
      assert.deepEqual(graph['relations'], [{ from: 'Ada', to: 'Analytical Engine', relationType: 'programmed' }], 'the writes reached the memory server');
      assert.ok(existsSync(servers.memoryFiles.gateway) && existsSync(servers.memoryFiles.direct), 'each memory server wrote its graph to its own file in the test\'s folder');
      assert.equal(existsSync(MEMORY_DEFAULT_FILE), false, 'nothing was written into node_modules');
    });

    test('resources: every page through the gateway\'s cursor is every server\'s resources, and a read is the same as directly', async () => {
      const through = await allPages((cursor) => gateway.listResources(cursor), 'resources');
      const owns = await Promise.all(servers.services.map((service) => allPages((cursor) => direct[service].listResources(cursor).catch(() => ({ resources: [] })), 'resources')));
      assert.deepEqual(through.items, owns.flatMap((own) => own.items), 'the merged list is each server\'s, in the services\' order');
      // The v2 client walks every page itself when asked without a cursor: the last note is there only if the gateway's cursor was followed.
      assert.ok(through.items.some((resource) => resource['uri'] === 'page://note/25'), 'the paging server\'s last page is reached through the gateway\'s cursor');
      assert.ok(through.items.some((resource) => resource['uri'] === 'memory://knowledge-graph'), 'server-memory\'s graph is listed');
      const paging = owns[servers.services.indexOf('pages')]!;
      if (!kind.aggregatesPages) assert.ok(paging.pages >= 3 && through.pages >= 3, `the paging server pages its resources (${paging.pages} pages) and so does the gateway (${through.pages})`);
      const document = through.items.find((resource) => (resource['uri'] as string).startsWith('demo://resource/static/document/'))?.['uri'] as string | undefined;
      assert.ok(document, 'a static document of server-everything is listed');
      for (const [service, uri] of [['everything', document], ['memory', 'memory://knowledge-graph'], ['pages', 'page://note/23']] as const) {
        assert.deepEqual(await gateway.readResource(uri), await direct[service].readResource(uri), `resources/read ${uri}`);
      }
    });

    test('prompts: listed namespaced, and a prompt is the same through the gateway as directly', async () => {
      // Of the servers, only server-everything has prompts (server-memory declares none, and is not asked).
      assert.equal(direct.memory.capabilities()?.['prompts'], undefined);
      const prompts = (await gateway.listPrompts())['prompts'] as Json[];
      assert.deepEqual(prompts.map((p) => withoutPrefix('everything', p)), (await direct.everything.listPrompts())['prompts']);
      assert.deepEqual(await gateway.getPrompt('everything.simple-prompt'), await direct.everything.getPrompt('simple-prompt'));
      assert.deepEqual(await gateway.getPrompt('everything.args-prompt', { city: 'Zürich' }), await direct.everything.getPrompt('args-prompt', { city: 'Zürich' }));
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
      const started = gateway.logs().find((r) => r.msg === 'started the MCP server' && r['service'] === 'memory');
      assert.equal(typeof started?.pid, 'number', 'the memory server\'s pid is logged');
      // server-memory answers at once: stopped, it keeps the call in its pipe, in flight, until the client has cancelled it.
      await pauseServer(started!.pid!);
      const from = gateway.logs().length;
      const controller = new AbortController();
      const call = gateway.callTool('memory.read_graph', {}, { signal: controller.signal });
      const forwarded = await logAfter(gateway, from, (r) => r.msg === 'a call was forwarded to its service' && r['service'] === 'memory');
      controller.abort('the test cancels');
      await assert.rejects(call, /cancels/);
      await logAfter(gateway, from, (r) => r.msg === 'a call was cancelled by the client' && r['gatewayId'] === forwarded['gatewayId']);
      // Continued, server-memory reads the call and then its cancellation, under the gateway's id: the SDK server then
      // never answers it. Had the cancellation named another id, its answer would come (and be dropped, logged) first.
      resumeServer(started!.pid!);
      const [through, own] = await Promise.all([gateway.callTool('memory.read_graph', {}), direct.memory.callTool('read_graph', {})]);
      assert.deepEqual(through, own);
      // A second call after it, so that an answer to the cancelled call, had there been one, has come before this one's.
      assert.equal((await gateway.callTool('memory.open_nodes', { names: ['Ada'] }))['isError'], undefined);
      assert.deepEqual(gateway.logs().slice(from).filter((r) => r.msg === 'a service\'s answer to nothing in flight was dropped'), [], 'the memory server did not answer the cancelled call');
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
