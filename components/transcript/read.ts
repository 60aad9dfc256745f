// Reading a transcript back: its lines one at a time (a transcript can be larger than memory
// should hold), each checked against the format. A line that is not what the format says is an
// error naming its line number; the one exception is the file's last line when it has no
// newline and is not JSON: a proxy killed mid-write left it (a torn line), and it is skipped.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Decision, Direction, Identity, Phase } from '../policy/index.js';
import { TRANSCRIPT_FORMAT, TRANSCRIPT_VERSION, type ArgumentsMode, type RecordedPolicy } from './types.js';

export interface RawLine {
  /** 1-based. */
  readonly number: number;
  readonly text: string;
  /** False for a last line without a newline. */
  readonly terminated: boolean;
}

const CHUNK = 1024 * 1024;

/** The file's lines, read in chunks. Throws the file system's error (ENOENT, EISDIR, …). */
export function* readLines(path: string): Generator<RawLine> {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer[] = [];
    let number = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      const chunk = buffer.subarray(0, read);
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, end);
        const text = carry.length === 0 ? piece.toString('utf8') : Buffer.concat([...carry, piece]).toString('utf8');
        carry = [];
        start = end + 1;
        yield { number: ++number, text, terminated: true };
      }
      if (start < read) carry.push(Buffer.from(chunk.subarray(start))); // copied: the buffer is reused
    }
    if (carry.length > 0) yield { number: ++number, text: Buffer.concat(carry).toString('utf8'), terminated: false };
  } finally {
    closeSync(fd);
  }
}

export interface HeaderLine {
  readonly type: 'header';
  readonly arguments: ArgumentsMode;
  readonly policy: RecordedPolicy | null;
}
export interface PolicyLine {
  readonly type: 'policy';
  readonly policy: RecordedPolicy | null;
}
export interface GapLine {
  readonly type: 'gap';
  readonly dropped: number;
}
export interface FrameLine {
  readonly type: 'frame';
  readonly at: number;
  readonly session: string | undefined;
  readonly identity: Identity | undefined;
  readonly direction: Direction;
  readonly phase: Phase;
  readonly kind: 'request' | 'notification' | 'response';
  readonly method: string;
  readonly id: string | undefined;
  readonly action: 'forward' | 'replace' | 'deny';
  readonly invocationId: string | undefined;
  readonly decisions: readonly Decision[];
  readonly bytes: number;
  /** The parsed frame (secrets replaced); undefined when `text` holds a frame that was not JSON. */
  readonly frame: unknown;
  readonly text: string | undefined;
}
export type TranscriptLine = HeaderLine | PolicyLine | GapLine | FrameLine;

/** A line that is not what the format says. */
export class TranscriptLineError extends Error {
  /** `notJson`: the line does not parse at all (what a torn line looks like). */
  constructor(readonly line: number, message: string, readonly notJson = false) {
    super(message);
    this.name = 'TranscriptLineError';
  }
}

type Fields = Record<string, unknown>;

function oneOf<T extends string>(fields: Fields, key: string, values: readonly T[]): T {
  const value = fields[key];
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    throw new Error(`${key} must be one of ${values.join(', ')}, found ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return value as T;
}

function text(fields: Fields, key: string, optional = false): string | undefined {
  const value = fields[key];
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string') throw new Error(`${key} must be a string, found ${JSON.stringify(value) ?? 'nothing'}`);
  return value;
}

function count(fields: Fields, key: string): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${key} must be a number ≥ 0, found ${JSON.stringify(value) ?? 'nothing'}`);
  return value;
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readPolicy(value: unknown): RecordedPolicy | null {
  if (value === null) return null;
  if (!isFields(value)) throw new Error('policy must be an object or null');
  return { name: text(value, 'name')!, revision: text(value, 'revision')!, digest: text(value, 'digest')!, mode: text(value, 'mode')! };
}

function readIdentity(value: unknown): Identity | undefined {
  if (value === undefined) return undefined;
  if (!isFields(value)) throw new Error('identity must be an object');
  const tenantId = text(value, 'tenantId', true);
  const userId = text(value, 'userId', true);
  const agentId = text(value, 'agentId', true);
  return { ...(tenantId === undefined ? {} : { tenantId }), ...(userId === undefined ? {} : { userId }), ...(agentId === undefined ? {} : { agentId }) };
}

function readDecision(value: unknown, index: number): Decision {
  if (!isFields(value)) throw new Error(`decisions[${index}] must be an object`);
  try {
    if (typeof value['enforced'] !== 'boolean') throw new Error('enforced must be true or false');
    const changes = value['changes'] === undefined ? undefined : count(value, 'changes');
    return {
      ruleId: text(value, 'ruleId')!, kind: text(value, 'kind')!, phase: oneOf(value, 'phase', ['request', 'response']),
      effect: oneOf(value, 'effect', ['deny', 'rewrite']), enforced: value['enforced'], reason: text(value, 'reason')!,
      ...(changes === undefined ? {} : { changes }),
    };
  } catch (error) {
    throw new Error(`decisions[${index}].${(error as Error).message}`);
  }
}

function readFrame(fields: Fields): FrameLine {
  const decisions = fields['decisions'];
  if (!Array.isArray(decisions)) throw new Error('decisions must be a list');
  const hasFrame = 'frame' in fields;
  if (hasFrame === ('text' in fields)) throw new Error('a frame line has exactly one of frame and text');
  const kind = oneOf(fields, 'kind', ['request', 'notification', 'response']);
  const id = text(fields, 'id', true);
  if (kind !== 'notification' && id === undefined) throw new Error(`a ${kind} needs an id`);
  return {
    type: 'frame',
    at: count(fields, 'at'),
    session: text(fields, 'session', true),
    identity: readIdentity(fields['identity']),
    direction: oneOf(fields, 'direction', ['client-to-server', 'server-to-client']),
    phase: oneOf(fields, 'phase', ['request', 'response']),
    kind,
    method: text(fields, 'method')!,
    id,
    action: oneOf(fields, 'action', ['forward', 'replace', 'deny']),
    invocationId: text(fields, 'invocationId', true),
    decisions: decisions.map(readDecision),
    bytes: count(fields, 'bytes'),
    frame: fields['frame'],
    text: hasFrame ? undefined : text(fields, 'text'),
  };
}

/** One line of a transcript, checked. Fields the format does not name are ignored (a later writer may add some). */
export function parseTranscriptLine(line: RawLine): TranscriptLine {
  let fields: unknown;
  try {
    fields = JSON.parse(line.text);
  } catch (error) {
    throw new TranscriptLineError(line.number, `not JSON: ${(error as Error).message}`, true);
  }
  try {
    if (!isFields(fields)) throw new Error('not a transcript line (expected an object)');
    const type = oneOf(fields, 'type', ['header', 'policy', 'gap', 'frame']);
    if (type === 'frame') return readFrame(fields);
    if (type === 'gap') return { type, dropped: count(fields, 'dropped') };
    if (type === 'policy') return { type, policy: readPolicy(fields['policy']) };
    if (fields['format'] !== TRANSCRIPT_FORMAT) throw new Error(`not a transcript header: format is ${JSON.stringify(fields['format'])}, not ${TRANSCRIPT_FORMAT}`);
    if (fields['version'] !== TRANSCRIPT_VERSION) {
      throw new Error(`transcript version ${JSON.stringify(fields['version'])} is not supported (this mcp-sidecar reads version ${TRANSCRIPT_VERSION})`);
    }
    return { type, arguments: oneOf(fields, 'arguments', ['digest', 'redacted']), policy: readPolicy(fields['policy']) };
  } catch (error) {
    throw new TranscriptLineError(line.number, (error as Error).message);
  }
}
