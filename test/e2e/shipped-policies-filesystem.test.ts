// The shipped policies in front of the most common real server,
// @modelcontextprotocol/server-filesystem, tool by tool: one proxy per policy (the SDK v1
// client over stdio), every tool the installed server lists called inside the workspace and
// outside it. The server may read the whole temporary tree (workspace/ and outside/), so what
// stays outside is the policy's doing. The shipped files are used as written, but for their
// `/workspace/` prefix, which becomes the temporary workspace (a test cannot own /workspace).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectV1, decisions, type ProxiedClient } from '../helpers/proxied-sdk.js';
import { ROOT } from '../helpers/paths.js';

const FILESYSTEM = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
const ROOT_DIR = realpathSync(mkdtempSync(join(tmpdir(), 'shipped-policies-fs-')));
const WORKSPACE = join(ROOT_DIR, 'workspace');
const OUTSIDE = join(ROOT_DIR, 'outside');
const OUTSIDE_SECRET = 'outside-only-3f9c2a';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

type Args = (dir: string) => Record<string, unknown>;
/** Every tool of the installed server that takes a path, with arguments naming `dir`. */
const READERS: Record<string, Args> = {
  read_file: (dir) => ({ path: `${dir}/notes.txt` }),
  read_text_file: (dir) => ({ path: `${dir}/notes.txt`, head: 1 }),
  read_media_file: (dir) => ({ path: `${dir}/pixel.png` }),
  // The first path is always inside: the second decides, and a denial names it (/paths/1).
  read_multiple_files: (dir) => ({ paths: [`${WORKSPACE}/notes.txt`, `${dir}/notes.txt`] }),
  list_directory: (dir) => ({ path: dir }),
  list_directory_with_sizes: (dir) => ({ path: dir, sortBy: 'size' }),
  directory_tree: (dir) => ({ path: dir }),
  search_files: (dir) => ({ path: dir, pattern: '**/*.txt' }),
  get_file_info: (dir) => ({ path: `${dir}/notes.txt` }),
};
/** The server's one reader that takes no path. */
const PATHLESS: Record<string, Record<string, unknown>> = { list_allowed_directories: {} };
const WRITERS: Record<string, Args> = {
  write_file: (dir) => ({ path: `${dir}/written.txt`, content: 'written' }),
  edit_file: (dir) => ({ path: `${dir}/notes.txt`, edits: [{ oldText: 'note', newText: 'EDITED' }] }),
  create_directory: (dir) => ({ path: `${dir}/created` }),
  move_file: (dir) => ({ source: `${dir}/notes.txt`, destination: `${dir}/moved.txt` }),
};
const ALL_TOOLS = [...Object.keys(READERS), ...Object.keys(PATHLESS), ...Object.keys(WRITERS)].sort();
const READ_TOOLS = [...Object.keys(READERS), ...Object.keys(PATHLESS)].sort();

function resetTree(): void {
  rmSync(WORKSPACE, { recursive: true, force: true });
  rmSync(OUTSIDE, { recursive: true, force: true });
  for (const [dir, note] of [[WORKSPACE, 'a workspace note'], [OUTSIDE, `an outside note ${OUTSIDE_SECRET}`]] as const) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), `${note}\n`);
    writeFileSync(join(dir, 'pixel.png'), PNG);
  }
}

/** What the writers changed on disk (all false: nothing). */
function writes(dir: string): Record<string, boolean> {
  const moved = existsSync(join(dir, 'moved.txt'));
  return {
    written: existsSync(join(dir, 'written.txt')),
    created: existsSync(join(dir, 'created')),
    moved,
    edited: readFileSync(join(dir, moved ? 'moved.txt' : 'notes.txt'), 'utf8').includes('EDITED'),
  };
}

/** The shipped policy, its `/workspace/` prefix made the temporary workspace. */
function policyFile(name: string, dir: string): string {
  const text = readFileSync(join(ROOT, 'policies', `${name}.yaml`), 'utf8');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text.replaceAll('/workspace/', `${WORKSPACE}/`));
  return file;
}

interface Outcome {
  readonly result?: { content?: Array<{ type: string; text?: string }>; isError?: boolean };
  readonly error?: { code: number; message: string; data?: any };
}

/** Every outcome the client got, as JSON: what reached it. */
const seen: string[] = [];

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Outcome> {
  let outcome: Outcome;
  try {
    outcome = { result: await client.callTool({ name, arguments: args }) as Outcome['result'] };
  } catch (error) {
    if (!(error instanceof McpError)) throw error;
    outcome = { error: { code: error.code, message: error.message, data: error.data } };
  }
  seen.push(JSON.stringify(outcome));
  return outcome;
}

const text = (outcome: Outcome): string => outcome.result?.content?.map((item) => item.text ?? '').join('\n') ?? '';

function assertAnswered(outcome: Outcome, what: string): void {
  assert.equal(outcome.error, undefined, `${what}: ${JSON.stringify(outcome.error)}`);
  assert.notEqual(outcome.result?.isError, true, `${what}: ${text(outcome)}`);
}

/** A tool result saying why (reply: tool-error), from this rule. */
function assertToolError(outcome: Outcome, rule: string, reason: string, message: string): void {
  assert.equal(outcome.result?.isError, true, JSON.stringify(outcome));
  assert.equal(text(outcome), `Denied by policy (rule ${rule}, ${reason}): ${message}`);
}

/** A JSON-RPC error from this rule. */
function assertRpcError(outcome: Outcome, code: number, rule: string, reason: string): void {
  assert.ok(outcome.error, JSON.stringify(outcome));
  assert.deepEqual([outcome.error.code, outcome.error.data?.ruleId, outcome.error.data?.reason], [code, rule, reason]);
}

describe('shipped policies in front of @modelcontextprotocol/server-filesystem, tool by tool', () => {
  const policies = mkdtempSync(join(tmpdir(), 'shipped-policies-files-'));
  const server = [process.execPath, FILESYSTEM, ROOT_DIR];
  after(() => {
    rmSync(ROOT_DIR, { recursive: true, force: true });
    rmSync(policies, { recursive: true, force: true });
  });

  describe('policies/readonly.yaml: every reader usable inside the workspace, refused outside it; every writer hidden and refused', () => {
    let session: ProxiedClient<Client>;
    before(async () => {
      resetTree();
      session = await connectV1(policyFile('readonly', policies), server);
    });
    after(() => session?.close());

    test('tools/list: exactly the readers (edit_file, create_directory, write_file, move_file hidden)', async () => {
      const { tools } = await session.client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), READ_TOOLS);
    });

    for (const [name, args] of Object.entries(READERS)) {
      test(`${name}: answered inside the workspace, refused outside it`, async () => {
        assertAnswered(await call(session.client, name, args(WORKSPACE)), `${name} inside`);
        const pointer = name === 'read_multiple_files' ? '/paths/1' : '/path';
        assertToolError(await call(session.client, name, args(OUTSIDE)), 'workspace-paths', 'argument_invalid', `argument ${pointer} must be a path under ${WORKSPACE}/`);
        assertToolError(await call(session.client, name, args(`${WORKSPACE}/..`)), 'workspace-paths', 'argument_invalid', `argument ${pointer} must be a path under ${WORKSPACE}/`);
      });
    }

    test('list_allowed_directories: answered (it takes no path)', async () => {
      assertAnswered(await call(session.client, 'list_allowed_directories', {}), 'list_allowed_directories');
    });

    for (const [name, args] of Object.entries(WRITERS)) {
      test(`${name}: refused, even inside the workspace, and nothing changes on disk`, async () => {
        assertToolError(await call(session.client, name, args(WORKSPACE)), 'read-only-tools', 'tool_not_allowed', `tool "${name}" is not allowed`);
        assert.deepEqual(writes(WORKSPACE), { written: false, created: false, moved: false, edited: false });
      });
    }

    test('nothing from outside the workspace reached the client', async () => {
      await session.close();
      assert.ok(seen.length > 20 && !seen.some((outcome) => outcome.includes(OUTSIDE_SECRET)));
      const denied = decisions(session.logs()).filter((r) => r.effect === 'deny').map((r) => r.ruleId);
      assert.equal(denied.filter((id) => id === 'workspace-paths').length, Object.keys(READERS).length * 2);
      assert.equal(denied.filter((id) => id === 'read-only-tools').length, Object.keys(WRITERS).length);
    });
  });

  describe('policies/locked-down.yaml: read_file alone, inside the workspace; the rest refused, writers hidden', () => {
    let session: ProxiedClient<Client>;
    before(async () => {
      resetTree();
      session = await connectV1(policyFile('locked-down', policies), server);
    });
    after(() => session?.close());

    test('tools/list: the writers hidden', async () => {
      const { tools } = await session.client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), READ_TOOLS);
    });

    test('read_file: answered inside the workspace, a JSON-RPC error outside it', async () => {
      const inside = await call(session.client, 'read_file', READERS.read_file!(WORKSPACE));
      assertAnswered(inside, 'read_file inside');
      assert.equal(text(inside), 'a workspace note\n');
      const outside = await call(session.client, 'read_file', READERS.read_file!(OUTSIDE));
      assertRpcError(outside, -32012, 'read-file-path', 'argument_invalid');
      assert.match(outside.error!.message, new RegExp(`argument /path must be a path under ${WORKSPACE}/$`));
    });

    for (const [name, args] of [...Object.entries(READERS), ...Object.entries(WRITERS)].filter(([name]) => name !== 'read_file')) {
      test(`${name}: refused (not on the list)`, async () => {
        assertRpcError(await call(session.client, name, args(WORKSPACE)), -32010, 'allowed-tools', 'tool_not_allowed');
      });
    }

    test('nothing changed on disk, and nothing from outside the workspace reached the client', () => {
      assert.deepEqual(writes(WORKSPACE), { written: false, created: false, moved: false, edited: false });
      assert.ok(!seen.some((outcome) => outcome.includes(OUTSIDE_SECRET)));
    });
  });

  describe('policies/default.yaml: observes only; every tool reaches the server, in and out of the workspace', () => {
    let session: ProxiedClient<Client>;
    before(async () => {
      resetTree();
      session = await connectV1(policyFile('default', policies), server);
    });
    after(() => session?.close());

    test('tools/list: every tool of the installed server (the tables of this test are complete)', async () => {
      const { tools } = await session.client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), ALL_TOOLS);
    });

    test('every reader answers, outside the workspace too (the server allows the whole tree)', async () => {
      for (const [name, args] of Object.entries(READERS)) {
        assertAnswered(await call(session.client, name, args(WORKSPACE)), `${name} inside`);
        assertAnswered(await call(session.client, name, args(OUTSIDE)), `${name} outside`);
      }
      assert.match(text(await call(session.client, 'read_file', READERS.read_file!(OUTSIDE))), new RegExp(OUTSIDE_SECRET));
    });

    test('every writer runs', async () => {
      for (const [name, args] of Object.entries(WRITERS)) assertAnswered(await call(session.client, name, args(WORKSPACE)), name);
      assert.deepEqual(writes(WORKSPACE), { written: true, created: true, moved: true, edited: true });
    });

    test('and no rule would have denied any of it', async () => {
      await session.close();
      assert.deepEqual(decisions(session.logs()).map((r) => `${r.ruleId} ${r.msg}`), []);
    });
  });
});
