// The configurations the bench measures: what the client talks to, and which process is
// "the proxy" whose CPU and memory are sampled. Adding a configuration is adding an entry.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Quotes one argv word for the proxy's --proxy command line (split without a shell). */
function quoteWord(word) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

let cliHelp;
function proxyUsage(cli) {
  if (cliHelp === undefined) {
    try {
      cliHelp = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    } catch {
      cliHelp = '';
    }
  }
  return cliHelp;
}

/**
 * @param root      the repository root
 * @param nodeArgs  extra node flags for the processes sampled as "the proxy" (e.g. --cpu-prof)
 * @param resultsDir where a configuration may write files (reports)
 * @param serverMode 'fast' (the cheapest server) or 'json' (parses and serializes every message)
 * @param cli       the proxy build to run (default: this checkout's dist/cli.js)
 * @param baselineCli another build, measured as "proxy (baseline)" for a before/after comparison
 * Each entry:
 *   name, label     short key (JSON, --only) and the name in tables
 *   measuresProxy   true when the spawned process is a proxy whose CPU/RSS the budget is about
 *   available()     true, or a string saying why the configuration is skipped in this run
 *   spawn(options)  { file, args, env } of the process the client talks to;
 *                   options.maxFrameBytes: the largest frame the run will send
 */
export function createConfigurations({ root, nodeArgs = [], resultsDir, serverMode = 'fast', cli = join(root, 'dist', 'cli.js'), baselineCli }) {
  const node = process.execPath;
  const serverArgv = [node, join(root, 'bench', 'server.mjs'), ...(serverMode === 'json' ? ['--json'] : [])];
  const serverCommand = serverArgv.map(quoteWord).join(' ');
  // The proxy starts only allowlisted commands: the bench server, by the env variable (a baseline
  // build older than --allow ignores it).
  const allowBenchServer = `${quoteWord(node)} ${quoteWord(`${join(root, 'bench')}/`)}`;
  const env = { ...process.env, MCP_PROXY_LOG_LEVEL: 'warn', MCP_PROXY_ALLOWED_PREFIXES: allowBenchServer };
  const DEFAULT_FRAME_LIMIT = 16 * 1024 * 1024;

  const proxy = (extraArgs = [], build = cli) => (options = {}) => ({
    file: node,
    args: [
      ...nodeArgs, build, '--proxy', serverCommand, '--stdio', '--log-level', 'warn',
      // The frame limit is raised only when a phase sends frames over the default.
      ...((options.maxFrameBytes ?? 0) > DEFAULT_FRAME_LIMIT ? ['--max-frame-bytes', String(options.maxFrameBytes + 1024)] : []),
      ...extraArgs,
    ],
    env,
  });
  const cliBuilt = () => (existsSync(cli) ? true : `${cli} is missing: run npm run build`);
  // A configuration that needs CLI flags joins once `mcp-sidecar --help` lists them.
  const cliHasFlags = (...flags) => () => {
    if (cliBuilt() !== true) return cliBuilt();
    const missing = flags.filter((flag) => !proxyUsage(cli).includes(flag));
    return missing.length === 0 ? true : `the CLI has no ${missing.join(', ')} yet`;
  };

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
      available: cliBuilt,
      spawn: proxy(),
    },
    ...(baselineCli === undefined ? [] : [{
      name: 'baseline',
      label: 'proxy (baseline)',
      measuresProxy: true,
      maxFrameBytes: Infinity,
      available: () => (existsSync(baselineCli) ? true : `${baselineCli} does not exist`),
      spawn: proxy([], baselineCli),
    }]),
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
    // ---------------------------------------------------------------------------------------
    // HOOK: proxy observe / proxy enforce. They join the run by themselves once the CLI lists
    // the flags below in --help and bench/policy.bench.yaml exists; nothing else in the bench
    // changes. Adjust the flag names here when the policy engine and reports land. The policy
    // file should be realistic, about 10 rules, none of which denies the bench's calls:
    //   - method allowlist: initialize, notifications/initialized, ping, tools/list, tools/call
    //   - tool allowlist: echo (and a few others)
    //   - two argument constraints on echo: `text` is a string, its length under 2 MiB
    //   - a rate limit far above the bench's rate (it must never trip)
    //   - redaction on responses (e.g. a pattern such as an API-key shape, which never occurs)
    //   - the rest: deny rules for methods/tools the bench never calls
    // Reports go to a file per configuration (bench/results/reports/<name>.ndjson).
    // ---------------------------------------------------------------------------------------
    ...['observe', 'enforce'].map((mode) => {
      const policyFile = join(root, 'bench', 'policy.bench.yaml');
      const flags = cliHasFlags('--policy', '--mode', '--report-file');
      return {
        name: mode,
        label: `proxy ${mode}`,
        measuresProxy: true,
        maxFrameBytes: Infinity,
        available: () => {
          const ok = flags();
          if (ok !== true) return ok;
          return existsSync(policyFile) ? true : `${policyFile} does not exist yet`;
        },
        spawn: proxy(['--policy', policyFile, '--mode', mode, '--report-file', join(resultsDir, 'reports', `${mode}.ndjson`)]),
      };
    }),
  ];
}
