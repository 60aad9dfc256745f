// Every protocol era connects through every shipped policy. SDK clients pinned to each era (v2
// pins any of them; v1 offers 2025-11-25 only) and a v2 client that negotiates on its own drive
// test/fixtures/servers/two-era-server.js (the installed real servers speak only the 2025 eras)
// through the built proxy: over Streamable HTTP, one proxy per policy and a session per client,
// and over stdio for the 2026-07-28 client that holds a subscriptions/listen open (the HTTP
// endpoint does not carry that stream's acknowledgement). A policy that refused
// `server/discover` failed a pinned 2026-07-28 client, and sent an auto-negotiating one silently
// back to 2025.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ClientOptions } from '@modelcontextprotocol/client';
import {
  connectV1Http, connectV2, connectV2Http, decisions, serverLines, startHttpProxy, type HttpClient, type HttpProxy,
} from '../helpers/proxied-sdk.js';
import { fixtureServer } from '../helpers/paths.js';
import { waitForValue } from '../helpers/wait.js';

const SERVER = [process.execPath, fixtureServer('two-era-server.js')];
const POLICIES = ['default', 'readonly', 'locked-down'] as const;
const LEGACY = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;
const MODERN = '2026-07-28';
const PIN_MODERN: ClientOptions = { capabilities: {}, versionNegotiation: { mode: { pin: MODERN } } };

interface Kind {
  readonly label: string;
  readonly era: string;
  connect(url: URL): Promise<HttpClient<any>>;
}

const KINDS: Kind[] = [
  ...LEGACY.map((era): Kind => ({ label: `v2 pinned to ${era}`, era, connect: (url) => connectV2Http(url, { capabilities: {}, supportedProtocolVersions: [era] }) })),
  { label: `v2 pinned to ${MODERN}`, era: MODERN, connect: (url) => connectV2Http(url, PIN_MODERN) },
  { label: 'v2 negotiating (auto): it probes server/discover and must not fall back', era: MODERN, connect: (url) => connectV2Http(url, { capabilities: {}, versionNegotiation: { mode: 'auto' } }) },
  { label: 'v1 (offers 2025-11-25)', era: '2025-11-25', connect: (url) => connectV1Http(url) },
];

/** What a session of this policy lists of the server's echo, read_file and write_file. */
const listed = (policy: string): string[] => (policy === 'default' ? ['echo', 'read_file', 'write_file'] : ['echo', 'read_file']);
/** The only decisions these sessions may cause: the writer hidden from tools/list. */
const hider = (policy: string): string | undefined => ({ readonly: 'hide-writers', 'locked-down': 'hide-the-rest' } as Record<string, string>)[policy];

async function exercise(policy: string, era: string, client: any): Promise<void> {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((tool: { name: string }) => tool.name).sort(), listed(policy));
  const read = await client.callTool({ name: 'read_file', arguments: { path: '/workspace/README.md' } });
  assert.deepEqual(read.content, [{ type: 'text', text: 'contents of /workspace/README.md' }]);
  if (era !== MODERN) assert.deepEqual(await client.ping(), {}); // 2026-07-28 has no ping
}

for (const policy of POLICIES) {
  describe(`policies/${policy}.yaml: every protocol era connects`, () => {
    let proxy: HttpProxy;
    before(async () => {
      proxy = await startHttpProxy(`policies/${policy}.yaml`, SERVER);
    });
    after(() => proxy?.stop());

    for (const kind of KINDS) {
      test(`over HTTP, ${kind.label}: negotiates ${kind.era}, lists, reads${kind.era === MODERN ? '' : ', pings'}`, async () => {
        const session = await kind.connect(proxy.url);
        try {
          assert.equal(session.negotiated(), kind.era);
          await exercise(policy, kind.era, session.client);
        } finally {
          await session.close();
        }
      });
    }

    test(`over stdio, v2 pinned to ${MODERN}: server/discover, subscriptions/listen acknowledged, then cancelled`, async () => {
      const errors: Error[] = [];
      const session = await connectV2(`policies/${policy}.yaml`, SERVER, { ...PIN_MODERN, listChanged: { tools: { onChanged: () => {} } } });
      session.client.onerror = (error: Error) => errors.push(error);
      try {
        assert.equal(session.negotiated(), MODERN);
        assert.ok(session.client.autoOpenedSubscription, 'the listen was acknowledged through the proxy');
        await exercise(policy, MODERN, session.client);
      } finally {
        await session.close();
      }
      assert.deepEqual(errors.map((e) => e.message), []);
      const received = serverLines(session.logs());
      for (const method of ['server/discover', 'subscriptions/listen', 'notifications/cancelled']) assert.ok(received.includes(`received ${method}`), `the server received ${method}`);
      assert.deepEqual(decisions(session.logs()).map((r) => `${r.ruleId} ${r.effect} ${r.method}`), hider(policy) ? [`${hider(policy)} rewrite tools/list`] : []);
    });

    test('no rule denied (or would have denied) anything any era sent; the server saw every era\'s handshake', async () => {
      const received = new Set(serverLines(proxy.logs()));
      for (const method of ['initialize', 'notifications/initialized', 'ping', 'server/discover', 'tools/list', 'tools/call']) {
        assert.ok(received.has(`received ${method}`), `the server received ${method}`);
      }
      const expected = hider(policy) ? KINDS.map(() => `${hider(policy)} rewrite tools/list`) : [];
      // The last session's records may still be on their way.
      await waitForValue(() => decisions(proxy.logs()).length >= expected.length, 'the decision records', 2000).catch(() => {});
      assert.deepEqual(decisions(proxy.logs()).map((r) => `${r.ruleId} ${r.effect} ${r.method}`), expected);
    });
  });
}
