// `mcp-sidecar pin …`: write a lock from what a server lists, diff a lock against the server (or
// against another lock, for CI review of a lock change), approve a pending change in a
// trust-on-first-use state file.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { redactForLog } from '../logging/index.js';
import {
  approvePending, buildLock, describeChanges, diffLocks, formatLock, parseLock, PinLockError, type DefinitionKind, type LockDiff, type PinLock,
} from '../tool-pins/index.js';
import { listServer, PinServerError, PinUsageError } from './list-server.js';

export interface PinCommandIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

export const PIN_EXIT = {
  OK: 0,
  /** `pin`, `pin approve`: the server (or the state file) failed. `pin diff`: something changed. */
  FAILED_OR_CHANGED: 1,
  /** The command line is wrong; for `pin diff`, also any failure (as diff(1): 2 is trouble, 1 a difference). */
  USAGE_OR_TROUBLE: 2,
} as const;

// `--servers servers.yaml` stands wherever `--proxy` does: the gateway is listed as a client sees it, names namespaced (docs/gateway.md).
export const PIN_USAGE = `usage: mcp-sidecar pin (--proxy "<server command>" | --servers servers.yaml) --allow "<prefix>" [--out tools.lock.json|-] [governor flags…]
       mcp-sidecar pin diff <tools.lock.json> (--proxy "<server command>" | --servers servers.yaml) --allow "<prefix>" [--json] [governor flags…]
       mcp-sidecar pin diff <old.lock.json> <new.lock.json> [--json]
       mcp-sidecar pin approve <state-file> <name|kind:name>
`;

const DEFAULT_OUT = 'tools.lock.json';
const NAMES: Readonly<Record<DefinitionKind, string>> = { tool: 'tools', prompt: 'prompts', resourceTemplate: 'resource templates' };

export async function runPinCommand(args: readonly string[], io: PinCommandIo): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'diff') return pinDiff(rest, io);
  if (verb === 'approve') return pinApprove(rest, io);
  if (verb === undefined || verb === '--help' || verb === '-h') {
    io.stderr.write(PIN_USAGE);
    return PIN_EXIT.USAGE_OR_TROUBLE;
  }
  return pinWrite(args, io);
}

/** `pin`: lists the server and writes the lock. */
async function pinWrite(args: readonly string[], io: PinCommandIo): Promise<number> {
  const { value: out, rest } = takeOption(args, '--out');
  if (out === '') return usage(io, '--out needs a file name (or - for stdout)');
  try {
    const { listed, skipped } = await listServer(rest, io.env, io.stderr);
    const lock = buildLock(listed);
    const text = formatLock(lock);
    const target = out ?? DEFAULT_OUT;
    if (target === '-') io.stdout.write(text);
    else writeAtomically(target, text);
    const counts = (Object.keys(NAMES) as DefinitionKind[]).map((kind) => `${lock.definitions.filter((d) => d.kind === kind).length} ${NAMES[kind]}`).join(', ');
    const skippedNote = skipped.length === 0 ? '' : ` (not declared by the server, so not listed: ${skipped.map((kind) => NAMES[kind]).join(', ')})`;
    io.stderr.write(`pin: pinned ${counts}${target === '-' ? '' : ` to ${target}`}${skippedNote}\n`);
    return PIN_EXIT.OK;
  } catch (error) {
    return failed(io, 'pin', error, PIN_EXIT.FAILED_OR_CHANGED);
  }
}

/** `pin diff`: a lock against the server now, or against another lock. */
async function pinDiff(args: readonly string[], io: PinCommandIo): Promise<number> {
  const json = args.includes('--json');
  const withoutJson = args.filter((a) => a !== '--json');
  const positionals: string[] = [];
  while (positionals.length < 2 && withoutJson[positionals.length] !== undefined && !withoutJson[positionals.length]!.startsWith('-')) positionals.push(withoutJson[positionals.length]!);
  const proxyArgs = withoutJson.slice(positionals.length);
  if (positionals.length === 0) return usage(io, 'pin diff needs a lock file');
  if (positionals.length === 2 && proxyArgs.length > 0) return usage(io, `pin diff of two lock files starts no server: ${proxyArgs[0]} does not apply`);
  try {
    const before = readLock(positionals[0]!);
    const after = positionals.length === 2 ? readLock(positionals[1]!) : buildLock((await listServer(proxyArgs, io.env, io.stderr)).listed);
    const diff = diffLocks(before, after);
    const identical = diff.changed.length === 0 && diff.added.length === 0 && diff.removed.length === 0 && diff.lists.length === 0;
    io.stdout.write(json ? `${JSON.stringify({ identical, ...diff })}\n` : formatDiff(diff, positionals[0]!, positionals[1] ?? 'the server'));
    return identical ? PIN_EXIT.OK : PIN_EXIT.FAILED_OR_CHANGED;
  } catch (error) {
    return failed(io, 'pin diff', error, PIN_EXIT.USAGE_OR_TROUBLE);
  }
}

/** `pin approve`: a pending change in a state file becomes its pin. */
function pinApprove(args: readonly string[], io: PinCommandIo): number {
  if (args.length !== 2 || args.some((a) => a.startsWith('--'))) return usage(io, 'pin approve takes a state file and a name');
  try {
    const approved = approvePending(args[0]!, args[1]!);
    for (const d of approved) io.stdout.write(`approved ${d.kind} ${JSON.stringify(d.key)}: ${d.pin}\n`);
    return PIN_EXIT.OK;
  } catch (error) {
    return failed(io, 'pin approve', error, PIN_EXIT.FAILED_OR_CHANGED);
  }
}

/** The diff for a person: each change with its JSON pointers and both pins, then a one-line summary. */
export function formatDiff(diff: LockDiff, beforeName: string, afterName: string): string {
  const lines: string[] = [];
  for (const c of diff.changed) lines.push(`changed ${c.kind} ${JSON.stringify(c.key)}: ${describeChanges(c.changes)}`, `  pinned ${c.expected}`, `  now    ${c.actual}`);
  for (const a of diff.added) lines.push(`added   ${a.kind} ${JSON.stringify(a.key)}: ${a.pin}`);
  for (const r of diff.removed) lines.push(`removed ${r.kind} ${JSON.stringify(r.key)}: ${r.pin}`);
  if (diff.lists.length > 0) lines.push(`list digests changed: ${diff.lists.map((kind) => NAMES[kind]).join(', ')}`);
  const identical = lines.length === 0;
  lines.push(identical
    ? `no changes: ${afterName} lists what ${beforeName} pins`
    : `${diff.changed.length} changed, ${diff.added.length} added, ${diff.removed.length} removed (${beforeName} → ${afterName})`);
  return `${lines.join('\n')}\n`;
}

function readLock(path: string): PinLock {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PinLockError(path, `cannot be read (${(error as Error).message})`);
  }
  return parseLock(text, path);
}

/** The lock replaces the old one whole or not at all: a temporary file beside it, renamed over it. */
function writeAtomically(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    throw new PinLockError(path, `cannot be written (${(error as Error).message})`);
  }
}

/** `--out x`, `--out=x`: its value (the last one) and the other arguments. */
function takeOption(args: readonly string[], name: string): { value: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === name) {
      value = args[i + 1] ?? '';
      i += 1;
    } else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
    else rest.push(arg);
  }
  return { value, rest };
}

function usage(io: PinCommandIo, message: string): number {
  io.stderr.write(`mcp-sidecar: ${message}\n${PIN_USAGE}`);
  return PIN_EXIT.USAGE_OR_TROUBLE;
}

function failed(io: PinCommandIo, command: string, error: unknown, code: number): number {
  if (error instanceof PinUsageError) {
    io.stderr.write(`mcp-sidecar ${command}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}\n`);
    return PIN_EXIT.USAGE_OR_TROUBLE;
  }
  if (error instanceof PinServerError) {
    const tail = error.stderrTail.length === 0 ? '' : `\n  the server's stderr (last ${error.stderrTail.length} lines):\n${error.stderrTail.map((line) => `    ${line}`).join('\n')}`;
    io.stderr.write(`mcp-sidecar ${command}: the server could not be listed: ${error.message}${tail}\n`);
    return code;
  }
  if (error instanceof PinLockError) {
    io.stderr.write(`mcp-sidecar ${command}: ${redactForLog(error.message)}\n`);
    return code;
  }
  throw error;
}
