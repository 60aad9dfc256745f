/**
 * `mcp-sidecar report verify <file>... [--public-key <pem>] [--checkpoints <copy>]`: checks
 * report files as one chain (oldest first: `file.2 file.1 file`), and with `--checkpoints` that
 * they reach the last checkpoint of an exported copy (a file cut after its export fails). Exit 0 when all is intact (a torn last line alone is
 * said and ignored), 1 when anything is broken (every problem on stderr as
 * `file:line: kind: message`, then the first broken line), 2 on a usage error, a file that
 * cannot be read or a public key that cannot be used.
 */
import { isSidecarError } from '../errors/index.js';
import { loadPublicKey, type ReportPublicKey } from './sign.js';
import { verifyReportFiles, type VerifyResult } from './verify.js';

export interface ReportVerifyIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const REPORT_VERIFY_USAGE = `usage: mcp-sidecar report verify <file>... [--public-key <pem>] [--require-closed] [--checkpoints <copy>]

Checks execution report files: every line against the schema, every digest, the chain
(prevDigest and seq) across the files in the order given, oldest first (file.2 file.1 file),
and with --public-key (an Ed25519 SPKI PEM file) every signature (format 2: every checkpoint).
A file that does not end with a closing checkpoint is noted; with --require-closed it fails.
With --checkpoints (an exported copy: the records' bodies, one per line, or another report
file), the copy's checkpoints are checked (and their signatures, with --public-key), and the
files must agree with them and reach the last one: a file cut after its export fails.
Exit 0: intact; 1: broken (each problem as file:line: kind: message); 2: usage.
`;

type Parsed = { help: true } | { help: false; files: string[]; publicKeyPath: string | undefined; requireClosed: boolean; checkpointsPath: string | undefined } | { error: string };

function parseArgs(args: readonly string[]): Parsed {
  const files: string[] = [];
  let publicKeyPath: string | undefined;
  let requireClosed = false;
  let checkpointsPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '--') {
      files.push(...args.slice(i + 1));
      break;
    }
    if (arg === '--require-closed') {
      requireClosed = true;
    } else if (arg === '--public-key' || arg.startsWith('--public-key=')) {
      const value = arg === '--public-key' ? args[++i] : arg.slice('--public-key='.length);
      if (value === undefined || value === '') return { error: '--public-key needs a file: --public-key <pem>' };
      publicKeyPath = value;
    } else if (arg === '--checkpoints' || arg.startsWith('--checkpoints=')) {
      const value = arg === '--checkpoints' ? args[++i] : arg.slice('--checkpoints='.length);
      if (value === undefined || value === '') return { error: '--checkpoints needs a file: --checkpoints <exported copy>' };
      checkpointsPath = value;
    } else if (arg.startsWith('-') && arg !== '-') {
      return { error: `unknown option ${arg}` };
    } else {
      files.push(arg);
    }
  }
  if (files.length === 0) return { error: 'give at least one report file' };
  return { help: false, files, publicKeyPath, requireClosed, checkpointsPath };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function describeOk(result: VerifyResult, signed: boolean): string {
  const checkpoints = result.checkpoints > 0 ? `, ${plural(result.checkpoints, 'checkpoint')}` : '';
  // A file whose checkpoints were all removed has nothing to check a signature of: said, not implied valid.
  const signatures = !signed ? '' : result.signaturesValid > 0 ? ', signatures valid' : ', no signature in it';
  // Drops are part of what the chain attests (declared inside digests): said on the same line.
  const drops = result.declaredDrops > 0 ? `, ${result.declaredDrops} declared dropped` : '';
  let text = `ok ${plural(result.reports, 'report')}${checkpoints}, chain intact${drops}${signatures}\n`;
  const { first, last } = result;
  if (first !== undefined && last !== undefined) {
    const start = first.prevDigest === null ? 'from the start of the chain' : `continuing from ${first.prevDigest}`;
    text += `seq ${first.seq} to ${last.seq} (${start}); last digest ${last.digest}\n`;
  }
  if (result.format2 && !result.closed) {
    text += 'note: the last line is not a closing checkpoint: the writer is still running, stopped without closing, or lines were cut from the end'
      + `; ${plural(result.uncovered, 'report')} after the last checkpoint${signed ? ', covered by no signature' : ''}\n`;
  }
  const exported = result.exported;
  if (exported?.last !== undefined) {
    const anchor = `the last exported checkpoint, seq ${exported.last.seq} (${exported.last.digest}, ${exported.file}:${exported.last.line})`;
    text += exported.precedesFiles
      ? `note: ${anchor} precedes these files (they start at seq ${result.first!.seq}): give the older files to compare it\n`
      : `reaches ${anchor}; ${plural(exported.checkpoints, 'exported checkpoint')} read\n`;
  }
  for (const torn of result.problems) text += `${torn.file}:${torn.line}: ${torn.message}\n`;
  return text;
}

export function runReportVerify(args: readonly string[], io: ReportVerifyIo): number {
  const parsed = parseArgs(args);
  if ('error' in parsed) {
    io.stderr.write(`report verify: ${parsed.error}\n${REPORT_VERIFY_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout.write(REPORT_VERIFY_USAGE);
    return 0;
  }
  let publicKey: ReportPublicKey | undefined;
  let result: VerifyResult;
  try {
    if (parsed.publicKeyPath !== undefined) publicKey = loadPublicKey(parsed.publicKeyPath);
    result = verifyReportFiles(parsed.files, { publicKey, requireClosed: parsed.requireClosed, checkpoints: parsed.checkpointsPath });
  } catch (error) {
    if (isSidecarError(error)) io.stderr.write(`report verify: ${error.message}\n`);
    else if ((error as NodeJS.ErrnoException).code !== undefined) io.stderr.write(`report verify: cannot read ${(error as NodeJS.ErrnoException).path ?? 'a file'}: ${(error as Error).message}\n`);
    else throw error;
    return 2;
  }
  if (result.ok) {
    io.stdout.write(describeOk(result, publicKey !== undefined));
    return 0;
  }
  const broken = result.problems.filter((p) => p.kind !== 'torn');
  for (const p of result.problems) io.stderr.write(`${p.file}:${p.line}: ${p.kind}: ${p.message}\n`);
  const firstBroken = broken[0]!;
  io.stderr.write(`FAILED: ${plural(broken.length, 'problem')} in ${plural(result.reports, 'report')}; the first broken line is ${firstBroken.file}:${firstBroken.line} (${firstBroken.kind})\n`);
  return 1;
}
