#!/usr/bin/env node
// The demo: an MCP client (the official SDK) talks to the demo server through the proxy and
// prints each step. Exits non-zero if any step fails.
//
//   node demo/mcp-middleware-platform/demo-client.js [--proxy-command "<command>"]
//
// 1. plain proxying: initialize -> tools/list -> tools/call echo
// 2. the readonly policy, enforced: one allowed call, one denied call
// 3. the same policy in observe mode: the denied call passes, its would-deny recorded
// 4. the execution report step 2 wrote: one line per invocation, verified, and a tampered copy caught
// 5. step 3's transcript replayed against the policy as written (enforce): what enforcing would change
// 6. the gateway: two demo servers behind one proxy (demo/servers.yaml), each under its namespace
// With --proxy-command only step 1 runs, against that command (split by the proxy's own
// parser: no shell). Unless MCP_PROXY_ALLOWED_PREFIXES is set, that proxy is allowed to start
// `node <this repository>/demo/...` scripts, so a command without --allow runs the demo server.
// That mode needs no dist/: without it the parser is loaded from source through tsx, e.g.
//   node demo/mcp-middleware-platform/demo-client.js --proxy-command "npx tsx ./cli.ts --proxy 'node demo/mcp-middleware-platform/simple-mcp-server.js' --stdio"
// The full demo writes its report and transcript in a temporary folder, removed when the demo
// exits (passed or failed); --keep (or MCP_SIDECAR_DEMO_KEEP=1) keeps it and prints where it is.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { 'proxy-command': { type: 'string' }, keep: { type: 'boolean' } } });

/** The proxy's own command-line parser: built if dist/ is there, else (--proxy-command only) from source. */
async function loadCommandParser() {
  const built = join(root, 'dist', 'components', 'proxy-process-governor', 'index.js');
  if (existsSync(built)) return import(built);
  if (values['proxy-command'] === undefined) {
    console.error('demo: dist/ is missing. Run `npm ci` (or `npm run build`) first.');
    process.exit(1);
  }
  let tsImport;
  try {
    ({ tsImport } = await import('tsx/esm/api'));
  } catch {
    console.error('demo: dist/ is missing and tsx is not installed. Run `npm ci` first.');
    process.exit(1);
  }
  return tsImport(join(root, 'components', 'proxy-process-governor', 'index.ts'), import.meta.url);
}
const { parseCommandLine } = await loadCommandParser();
const here = (path) => relative(process.cwd(), join(root, path));
const proxyFor = (...flags) => `node ${here('dist/cli.js')} --proxy "node ${here('demo/mcp-middleware-platform/simple-mcp-server.js')}" --allow "node ${here('demo')}/" --stdio ${flags.join(' ')}`.trim();

// Only the full demo writes files (steps 2 to 5); step 1 alone leaves nothing behind.
const workDir = values['proxy-command'] === undefined ? mkdtempSync(join(tmpdir(), 'mcp-sidecar-demo-')) : tmpdir();
if (values['proxy-command'] === undefined) {
  const keep = values.keep === true || process.env.MCP_SIDECAR_DEMO_KEEP === '1';
  process.on('exit', () => {
    if (keep) console.log(`\ndemo files kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  });
  // Interrupted: exit through the handler above too.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.once(signal, () => process.exit(code));
}
const reportFile = join(workDir, 'reports.ndjson');
const transcriptFile = join(workDir, 'observe.transcript.ndjson');

const heading = (text) => console.log(`\n== ${text}`);
const step = (title) => console.log(`\n- ${title}`);
const show = (label, value) => console.log(`    ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
const fail = (message) => {
  throw new Error(message);
};

/** One word for the proxy's command parser: POSIX single quotes unless plainly safe. */
const quoteWord = (word) => (/^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** Starts a proxy command as an MCP server for the SDK client; keeps the proxy's log records. */
async function connect(proxyCommand, logLevel = 'warn') {
  show('proxy command', proxyCommand);
  const [command, ...args] = parseCommandLine(proxyCommand);
  const env = { ...process.env, MCP_PROXY_LOG_LEVEL: logLevel };
  // The demo's own commands carry --allow; a --proxy-command may not, and should still reach the
  // demo server. A rule with a path is matched where it really leads, so this absolute folder
  // admits `node demo/...` only when run from this checkout. An allowlist the caller set wins.
  env.MCP_PROXY_ALLOWED_PREFIXES ??= `node ${quoteWord(`${join(root, 'demo')}/`)}`;
  const transport = new StdioClientTransport({ command, args, stderr: 'pipe', env });
  const logs = [];
  let partial = '';
  transport.stderr?.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        process.stderr.write(`${line}\n`);
      }
    }
  });
  const client = new Client({ name: 'demo-client', version: '1.0.0' });
  await client.connect(transport);
  return { client, logs };
}

const firstText = (result) => result.content?.[0]?.text;

async function plainProxying(proxyCommand) {
  heading('1. client -> proxy -> server');
  const { client } = await connect(proxyCommand);
  step('initialize');
  const info = client.getServerVersion();
  show('server', `${info?.name} ${info?.version}`);
  show('capabilities', client.getServerCapabilities());
  step('tools/list');
  const { tools } = await client.listTools();
  for (const tool of tools) show('tool', `${tool.name}: ${tool.description ?? ''}`);
  if (!tools.some((tool) => tool.name === 'echo')) fail('the server lists no `echo` tool');
  step('tools/call echo');
  const text = 'hello through the proxy';
  const result = await client.callTool({ name: 'echo', arguments: { text } });
  show('result', firstText(result));
  if (result.isError || firstText(result) !== text.toUpperCase()) fail(`expected ${JSON.stringify(text.toUpperCase())}, got ${JSON.stringify(firstText(result))}`);
  await client.close();
}

async function enforced() {
  heading('2. policies/readonly.yaml, enforced');
  const { client } = await connect(proxyFor('--policy', here('policies/readonly.yaml'), '--report-file', reportFile));
  step('tools/list: the writers are hidden');
  const names = (await client.listTools()).tools.map((tool) => tool.name);
  show('tools', names.join(', '));
  if (names.includes('delete_file')) fail('delete_file should be hidden');
  step('allowed: tools/call read_file /workspace/README.md');
  const read = await client.callTool({ name: 'read_file', arguments: { path: '/workspace/README.md' } });
  show('result', firstText(read).trim().replaceAll('\n', ' | '));
  if (read.isError) fail('the read should be allowed');
  step('denied: tools/call delete_file /workspace/README.md');
  const denied = await client.callTool({ name: 'delete_file', arguments: { path: '/workspace/README.md' } });
  show('result', firstText(denied));
  if (!denied.isError || !/Denied by policy/.test(firstText(denied))) fail('the delete should be denied');
  step('redacted: tools/call read_file /workspace/config.env');
  const secret = await client.callTool({ name: 'read_file', arguments: { path: '/workspace/config.env' } });
  show('result', firstText(secret).replaceAll('\n', ' | '));
  if (!firstText(secret).includes('[REDACTED:aws-access-key]')) fail('the AWS key should be redacted');
  await client.close();
}

async function observed() {
  heading('3. the same policy in observe mode (--mode observe)');
  const { client, logs } = await connect(proxyFor('--policy', here('policies/readonly.yaml'), '--mode', 'observe', '--record', transcriptFile), 'info');
  step('tools/call delete_file /workspace/README.md passes...');
  const result = await client.callTool({ name: 'delete_file', arguments: { path: '/workspace/README.md' } });
  show('result', firstText(result));
  if (result.isError) fail('observe mode must not block');
  await client.close();
  step('...and the proxy recorded what enforcing would have done');
  const would = logs.filter((record) => record.enforced === false);
  for (const record of would) show(record.msg, `rule ${record.ruleId}, ${record.reason}`);
  if (!would.some((record) => record.ruleId === 'read-only-tools' && record.effect === 'deny')) fail('no would-deny recorded for the delete');
}

async function reports() {
  heading('4. the execution report of step 2');
  show('file', reportFile);
  const lines = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean);
  for (const report of lines.map((line) => JSON.parse(line))) {
    const what = report.kind === 'lifecycle' ? `lifecycle ${report.event}`
      : report.kind === 'checkpoint' ? `checkpoint (${report.reason}, covers ${report.reports} reports)`
        : `${report.method}${report.target ? ` ${report.target.name}` : ''} -> ${report.outcome}`;
    const rules = report.decisions?.map((d) => `${d.ruleId}:${d.effect}`).join(' ') ?? '';
    show(`#${report.seq}`, `${what}${rules ? `  [${rules}]` : ''}`);
  }
  if (!lines.some((line) => line.includes('"outcome":"blocked"') && line.includes('"delete_file"'))) fail('the denied delete should be reported as blocked');
  if (lines.some((line) => line.includes('AKIA'))) fail('a secret reached the report file');
  step('mcp-sidecar report verify: every digest and the chain');
  const verify = (file) => spawnSync(process.execPath, [here('dist/cli.js'), 'report', 'verify', file], { encoding: 'utf8' });
  const good = verify(reportFile);
  show(`exit ${good.status}`, good.stdout.trim().split('\n')[0]);
  if (good.status !== 0) fail(`the report file should verify: ${good.stdout}${good.stderr}`);
  step('a copy with one outcome changed is caught, line named');
  const tampered = join(workDir, 'tampered.ndjson');
  writeFileSync(tampered, readFileSync(reportFile, 'utf8').replace('"outcome":"blocked"', '"outcome":"forwarded"'));
  const bad = verify(tampered);
  show(`exit ${bad.status}`, (bad.stdout + bad.stderr).trim().split('\n').find((line) => line.includes('tampered')) ?? '');
  if (bad.status !== 1) fail('the tampered copy should fail verification');
}

async function replay() {
  heading('5. replay: step 3\'s transcript against policies/readonly.yaml as written (enforce)');
  const result = spawnSync(process.execPath, [here('dist/cli.js'), 'replay', '--transcript', transcriptFile, '--policy', here('policies/readonly.yaml'), '--fail-on', 'new-denies'], { encoding: 'utf8' });
  for (const line of result.stdout.trim().split('\n')) console.log(`    ${line}`);
  if (result.status !== 1) fail(`replay --fail-on new-denies should exit 1 (enforcing would newly deny the delete), got ${result.status}: ${result.stderr}`);
  if (!result.stdout.includes('delete_file')) fail('the replay should name delete_file');
  if (readFileSync(transcriptFile, 'utf8').includes('AKIA')) fail('a secret reached the transcript');
}

async function gateway() {
  heading('6. the gateway: two servers behind one proxy (demo/servers.yaml)');
  // The file's commands are relative to the repository: the proxy runs there.
  const { client } = await connect(`node ${here('dist/cli.js')} --servers ${here('demo/servers.yaml')} --allow "node demo/" --stdio`);
  step('tools/list: each server\'s tools under its namespace');
  const names = (await client.listTools()).tools.map((tool) => tool.name);
  show('tools', names.join(', '));
  for (const name of ['alpha.echo', 'beta.echo']) if (!names.includes(name)) fail(`the merged list lacks ${name}`);
  step('tools/call beta.echo: routed to the beta server');
  const result = await client.callTool({ name: 'beta.echo', arguments: { text: 'hello, beta' } });
  show('result', firstText(result));
  if (result.isError || firstText(result) !== 'HELLO, BETA') fail(`expected "HELLO, BETA", got ${JSON.stringify(firstText(result))}`);
  await client.close();
}

console.log('mcp-middleware-platform demo');
try {
  if (values['proxy-command'] !== undefined) {
    await plainProxying(values['proxy-command']);
  } else {
    await plainProxying(proxyFor());
    await enforced();
    await observed();
    await reports();
    await replay();
    await gateway();
  }
  console.log('\ndemo passed: every step answered through the proxy as expected');
} catch (error) {
  console.error(`\ndemo FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
