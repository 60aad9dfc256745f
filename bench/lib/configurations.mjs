// The configurations the bench measures: what the client talks to, and which process is
// "the proxy" whose CPU and memory are sampled. Adding a configuration is adding an entry.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createCall } from './frames.mjs';
import { HTTP_CONNECTIONS } from './http-session.mjs';

/** Quotes one argv word for the proxy's --proxy command line (split without a shell). */
function quoteWord(word) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

const cliHelp = new Map();
/** The build's --help text ('' when it cannot run), read once per build. */
function proxyUsage(cli) {
  if (!cliHelp.has(cli)) {
    let text = '';
    try {
      text = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    } catch {
      // missing or broken build: no flags
    }
    cliHelp.set(cli, text);
  }
  return cliHelp.get(cli);
}

/** Every phase of the harness, in the order they run. */
export const PHASES = ['sequential', 'inflight', 'kib16', 'mib1', 'cold', 'linearity'];

const HTTP_HOST = '127.0.0.1';
// Over HTTP: the phases of a running session. Cold start (spawn to first response) and the
// large-frame linearity run are not measured: over HTTP the first would time the port polling,
// the second would need the body limit raised with the frame limit.
const HTTP_PHASES = ['sequential', 'inflight', 'kib16', 'mib1'];
const HTTP_DETAIL = `the bench client POSTs each call to /mcp with a node:http keep-alive Agent (no SDK; JSON responses, each checked), over a pool of up to ${HTTP_CONNECTIONS} connections: one per call in flight (sequential calls reuse one); cold start and large frames are not measured (n/a)`;

/**
 * @param root      the repository root
 * @param nodeArgs  extra node flags for the processes sampled as "the proxy" (e.g. --cpu-prof)
 * @param resultsDir where a configuration may write files (reports)
 * @param serverMode 'fast' (the cheapest server) or 'json' (parses and serializes every message)
 * @param cli       the proxy build to run (default: this checkout's dist/cli.js)
 * @param policyFile the policy of the observe and enforce configurations (default bench/policy.bench.yaml)
 * @param baselineCli another build, measured as "proxy (baseline)" for a before/after comparison
 *                  (and, when that build has --policy, as "observe (baseline)" and "enforce (baseline)")
 * Each entry:
 *   name, label     short key (JSON, --only) and the name in tables
 *   baselineOf      for a baseline entry: the configuration it is the other build of (it runs when that one does)
 *   note()          optional: the flags it adds to the proxy's, shown under the table
 *   detail()        optional: how the client talks to it, shown with the note
 *   measuresProxy   true when the spawned process is a proxy whose CPU/RSS the budget is about
 *   transport       'stdio' (NDJSON on the process's stdin/stdout) or 'http' (the proxy's /mcp)
 *   phases          the phases it runs (PHASES unless some do not apply: the others show n/a)
 *   available()     true, or a string saying why the configuration is skipped in this run
 *   spawn(options)  { file, args, env } of the process the client talks to;
 *                   options.maxFrameBytes: the largest frame the run will send;
 *                   options.port: where an HTTP configuration listens
 */
export function createConfigurations({ root, nodeArgs = [], resultsDir, serverMode = 'fast', cli = join(root, 'dist', 'cli.js'), baselineCli, policyFile = join(root, 'bench', 'policy.bench.yaml'), bridgesDir }) {
  const node = process.execPath;
  const serverArgv = [node, join(root, 'bench', 'server.mjs'), ...(serverMode === 'json' ? ['--json'] : [])];
  const serverCommand = serverArgv.map(quoteWord).join(' ');
  // The proxy starts only allowlisted commands: the bench server, by the env variable (a baseline
  // build older than --allow ignores it).
  const allowBenchServer = `${quoteWord(node)} ${quoteWord(`${join(root, 'bench')}/`)}`;
  const env = { ...process.env, MCP_PROXY_LOG_LEVEL: 'warn', MCP_PROXY_ALLOWED_PREFIXES: allowBenchServer };
  const DEFAULT_FRAME_LIMIT = 16 * 1024 * 1024;

  // options.port: set for an HTTP configuration (the client picks a free port and waits for it).
  const proxy = (extraArgs = [], build = cli) => (options = {}) => ({
    file: node,
    args: [
      ...nodeArgs, build, '--proxy', serverCommand, ...(options.port === undefined ? ['--stdio'] : ['--http', `${HTTP_HOST}:${options.port}`]), '--log-level', 'warn',
      // The frame limit is raised only when a phase sends frames over the default.
      ...((options.maxFrameBytes ?? 0) > DEFAULT_FRAME_LIMIT ? ['--max-frame-bytes', String(options.maxFrameBytes + 1024)] : []),
      ...extraArgs,
    ],
    env,
  });
  const cliBuilt = (build = cli) => (existsSync(build) ? true : `${build} is missing: run npm run build`);
  // A configuration that needs CLI flags joins once `mcp-sidecar --help` lists them.
  const cliHasFlags = (build, ...flags) => () => {
    if (cliBuilt(build) !== true) return cliBuilt(build);
    const missing = flags.filter((flag) => !proxyUsage(build).includes(flag));
    return missing.length === 0 ? true : `${build === cli ? 'the CLI' : build} has no ${missing.join(', ')} yet`;
  };

  // The proxy with the policy file in `mode` (observe or enforce); the HTTP entry adds --http
  // through spawn's options.port. Reports join once `--help` lists --report-file.
  const policyConfig = (build, mode, name, label, baselineOf, withReports = true) => {
    const flags = cliHasFlags(build, '--policy', '--mode');
    const reports = () => (withReports && proxyUsage(build).includes('--report-file') ? ['--report-file', join(resultsDir, 'reports', `${name}.ndjson`)] : []);
    return {
      name,
      label,
      ...(baselineOf === undefined ? {} : { baselineOf }),
      measuresProxy: true,
      maxFrameBytes: Infinity,
      // What the table's reader needs to know: the flags this configuration adds.
      note: () => ['--policy', relative(root, policyFile), '--mode', mode, ...(reports().length > 0 ? ['--report-file', '<file>'] : [])].join(' '),
      available: () => {
        const ok = flags();
        if (ok !== true) return ok;
        return existsSync(policyFile) ? true : `${policyFile} does not exist`;
      },
      spawn: (options) => proxy(['--policy', policyFile, '--mode', mode, ...reports()], build)(options),
    };
  };
  // A stdio configuration served over Streamable HTTP instead: the same flags and --http (the
  // port comes through spawn's options); it joins once `--help` lists --http.
  const overHttp = (base, detail) => ({
    ...base,
    transport: 'http',
    phases: HTTP_PHASES,
    note: () => [`--http ${HTTP_HOST}:<free port>`, ...(base.note ? [base.note()] : [])].join(' '),
    detail: () => detail,
    available: () => {
      const ok = cliHasFlags(cli, '--http')();
      return ok === true ? base.available() : ok;
    },
  });

  // --servers (issue 18): bench/servers.bench.yaml with the bench server's command filled in, in
  // the run's directory; the bench's calls name the tool under the service's namespace.
  const GATEWAY_TOOL = 'bench.echo';
  const serversTemplate = join(root, 'bench', 'servers.bench.yaml');
  const gatewayServersFile = () => {
    const file = join(resultsDir, 'servers.bench.yaml');
    mkdirSync(resultsDir, { recursive: true });
    // A JSON string is a YAML double-quoted scalar: the command's quotes and backslashes survive.
    writeFileSync(file, readFileSync(serversTemplate, 'utf8').replace(/^(\s*command:\s*)SERVER_COMMAND\s*$/m, (_, head) => `${head}${JSON.stringify(serverCommand)}`));
    return file;
  };
  const framesNameTools = () => createCall(1, GATEWAY_TOOL).request.includes(`"name":"${GATEWAY_TOOL}"`);

  // A bridge from bridgesDir, served over HTTP to the same client as the proxy's HTTP configurations.
  function bridge(name, label, pkg, args, phases = HTTP_PHASES) {
    // The package's own bin script, as `npx <pkg>` would run it.
    const dir = join(bridgesDir, 'node_modules', pkg);
    const bin = () => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return join(dir, typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[pkg]);
    };
    const script = existsSync(join(dir, 'package.json')) ? bin() : join(dir, 'package.json');
    return {
      name,
      label,
      measuresProxy: true,
      maxFrameBytes: Infinity,
      transport: 'http',
      phases,
      note: () => `${pkg} ${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version} from npm, serving the bench server over Streamable HTTP at /mcp`,
      detail: () => 'the same HTTP client',
      available: () => (existsSync(script) ? true : `${script} is missing: npm install --prefix ${bridgesDir} supergateway mcp-proxy`),
      spawn: (options = {}) => ({ file: node, args: [...nodeArgs, script, ...args(options.port)], env, stdoutIsLog: true }),
    };
  }

  return [
    {
      name: 'direct',
      label: 'direct',
      measuresProxy: false,
      maxFrameBytes: Infinity,
      available: () => true,
      spawn: () => ({ file: node, args: serverArgv.slice(1), env }),
    },
    {
      name: 'proxy',
      label: 'proxy passthrough',
      measuresProxy: true,
      maxFrameBytes: Infinity,
      available: () => cliBuilt(),
      spawn: proxy(),
    },
    ...(baselineCli === undefined ? [] : [{
      name: 'baseline',
      label: 'proxy (baseline)',
      baselineOf: 'proxy',
      measuresProxy: true,
      maxFrameBytes: Infinity,
      available: () => (existsSync(baselineCli) ? true : `${baselineCli} does not exist`),
      spawn: proxy([], baselineCli),
    }]),
    // ---------------------------------------------------------------------------------------
    // proxy observe / proxy enforce: the proxy with the realistic policy in
    // bench/policy.bench.yaml (twelve rules: method and tool allowlists, argument constraints, a
    // rate limit that never trips, a CEL condition, tool pins, redaction of every tools/call
    // result; none denies or changes the bench's calls), `--mode observe` or `--mode enforce`.
    // They join once the CLI lists --policy and --mode in --help. Execution reports join by themselves too: once --help lists
    // --report-file, each writes its report to bench/results/runs/<pid>/reports/<name>.ndjson.
    // ---------------------------------------------------------------------------------------
    ...['observe', 'enforce'].flatMap((mode) => [
      policyConfig(cli, mode, mode, `proxy ${mode}`),
      ...(baselineCli === undefined ? [] : [policyConfig(baselineCli, mode, `baseline-${mode}`, `${mode} (baseline)`, mode)]),
    ]),
    // ---------------------------------------------------------------------------------------
    // gateway (issue 18): the proxy with `--servers` instead of `--proxy`, the bench server its
    // one service (`bench`), every call to `bench.echo`: the gateway's namespace routing and id
    // remapping on top of `proxy` (its budget: ≤ 1.5 µs of proxy CPU per call more).
    // ---------------------------------------------------------------------------------------
    {
      name: 'gateway',
      label: 'gateway (--servers)',
      measuresProxy: true,
      maxFrameBytes: Infinity,
      note: () => `--servers ${relative(root, serversTemplate)} (the bench server as service "bench"; calls name ${GATEWAY_TOOL})`,
      available: () => {
        const ok = cliHasFlags(cli, '--servers')();
        if (ok !== true) return ok;
        if (!existsSync(serversTemplate)) return `${serversTemplate} does not exist`;
        return framesNameTools() ? true : 'the bench\'s frames cannot name a tool yet (bench/lib/frames.mjs createCall(textBytes, toolName))';
      },
      spawn: (options = {}) => {
        const spec = proxy([], cli)(options);
        const at = spec.args.indexOf('--proxy');
        // --servers replaces --proxy and its command (they exclude each other).
        spec.args.splice(at, 2, '--servers', gatewayServersFile());
        return { ...spec, toolName: GATEWAY_TOOL };
      },
    },
    // The same policy enforced without reports: what the rules cost alone (issue 14's 2.5 µs line).
    policyConfig(cli, 'enforce', 'enforce-noreport', 'enforce, no reports', undefined, false),
    ...(baselineCli === undefined ? [] : [policyConfig(baselineCli, 'enforce', 'baseline-enforce-noreport', 'no reports (baseline)', 'enforce-noreport', false)]),
    // ---------------------------------------------------------------------------------------
    // Over Streamable HTTP (issue 7): the same proxy with `--http 127.0.0.1:<free port>`
    // instead of --stdio, the client in lib/http-session.mjs. `http` compares with the
    // passthrough, `http-enforce` with enforce (same policy, same reports).
    // ---------------------------------------------------------------------------------------
    overHttp({ name: 'http', label: 'proxy over HTTP', measuresProxy: true, maxFrameBytes: Infinity, available: () => cliBuilt(), spawn: proxy() }, HTTP_DETAIL),
    overHttp(policyConfig(cli, 'enforce', 'http-enforce', 'enforce over HTTP'), 'the same HTTP client'),
    // ---------------------------------------------------------------------------------------
    // With --bridges <dir>: the stdio→Streamable HTTP bridges a user might run instead of the
    // proxy (no policy, no governance), for the HTTP figures' scale. Installed in <dir> for the
    // comparison only (`npm install --prefix <dir> supergateway mcp-proxy`), never dependencies.
    // ---------------------------------------------------------------------------------------
    ...(bridgesDir === undefined ? [] : [
      bridge('supergateway', 'supergateway (stateful)', 'supergateway', (port) => ['--stdio', serverCommand, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'], HTTP_PHASES.filter((phase) => phase !== 'mib1')), // its body limit answers 1 MiB with 413
      bridge('mcp-proxy', 'mcp-proxy (npm)', 'mcp-proxy', (port) => ['--host', HTTP_HOST, '--port', String(port), '--server', 'stream', '--no-eventStore', '--', ...serverArgv]),
    ]),
    {
      // Reference only: node:http and two pipes, no sessions, checks or parsing (the floor for a
      // Node proxy over HTTP, as `pipe` is over stdio).
      name: 'http-pipe',
      label: 'raw HTTP pipe (reference)',
      measuresProxy: true,
      maxFrameBytes: Infinity,
      transport: 'http',
      phases: HTTP_PHASES,
      detail: () => 'the same HTTP client',
      available: () => true,
      spawn: (options = {}) => ({ file: node, args: [...nodeArgs, join(root, 'bench', 'raw-http-pipe.mjs'), String(options.port), ...serverArgv], env }),
    },
    {
      // Reference only: bytes piped through a Node process, no framing (the floor for a Node proxy).
      name: 'pipe',
      label: 'raw pipe (reference)',
      measuresProxy: true,
      maxFrameBytes: Infinity,
      available: () => true,
      spawn: () => ({ file: node, args: [...nodeArgs, join(root, 'bench', 'raw-pipe.mjs'), ...serverArgv], env }),
    },
    {
      name: 'sdk',
      label: 'SDK passthrough',
      measuresProxy: true,
      maxFrameBytes: 10 * 1024 * 1024, // the SDK's stdio ReadBuffer cap
      available: () => true,
      spawn: () => ({ file: node, args: [...nodeArgs, join(root, 'bench', 'sdk-passthrough.mjs'), ...serverArgv], env }),
    },
  ];
}
