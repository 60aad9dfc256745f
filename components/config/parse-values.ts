import { SidecarError } from '../errors/index.js';
import { byteSizeExpected, readByteSize } from '../values/index.js';

/** Where a value came from, for error messages: `--max-frame-bytes` or `MCP_PROXY_MAX_FRAME_BYTES`. */
export type ValueSource = string;

function invalid(source: ValueSource, value: string, expected: string): never {
  throw new SidecarError('SIDECAR_ERR_CONFIG_INVALID', `${source} must be ${expected}, got ${JSON.stringify(value)}`);
}

/** An integer in [min, max]. */
export function parseInteger(source: ValueSource, value: string, min: number, max: number): number {
  const trimmed = value.trim();
  if (!/^-?\d+$/.test(trimmed)) invalid(source, value, `a whole number from ${min} to ${max}`);
  const n = Number(trimmed);
  if (n < min || n > max) invalid(source, value, `a whole number from ${min} to ${max}`);
  return n;
}

/** A byte count: `16777216`, `16MiB`, `512 KiB`. */
export function parseByteSize(source: ValueSource, value: string, min: number, max: number): number {
  const bytes = readByteSize(value, { min, max });
  if (bytes === undefined) invalid(source, value, byteSizeExpected({ min, max }));
  return bytes;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(source: ValueSource, value: string, choices: readonly T[]): T {
  const normalized = value.trim().toLowerCase();
  if (!(choices as readonly string[]).includes(normalized)) invalid(source, value, `one of ${choices.join(', ')}`);
  return normalized as T;
}

/** A sha256 digest in hex (64 characters), lower-cased. */
export function parseSha256(source: ValueSource, value: string): string {
  const trimmed = value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(trimmed)) invalid(source, value, 'a sha256 digest: 64 hexadecimal characters');
  return trimmed;
}

/** Where a server listens: `host:port`, `[v6]:port`, or a bare port (then on loopback). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const LOOPBACK_HOST = '127.0.0.1';

export function parseListenAddress(source: ValueSource, value: string): ListenAddress {
  const text = value.trim();
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text);
  const expected = 'host:port, [ipv6]:port or a port (then 127.0.0.1), port 0 to 65535';
  if (!match) invalid(source, value, expected);
  const port = Number(match[2]);
  if (port > 65535) invalid(source, value, expected);
  const host = match[1] === undefined ? LOOPBACK_HOST : match[1].replace(/^\[(.*)\]$/, '$1');
  return Object.freeze({ host, port });
}

/** True for an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An http(s) URL. */
export function parseUrl(source: ValueSource, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    invalid(source, value, 'an http:// or https:// URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') invalid(source, value, 'an http:// or https:// URL');
  return url.href;
}

/** Which token claims give the identity: `tenantId=tid,userId=sub,agentId=azp` (any subset). */
export interface IdentityClaims {
  readonly tenantId?: string;
  readonly userId?: string;
  readonly agentId?: string;
}

export function parseIdentityClaims(source: ValueSource, value: string): IdentityClaims {
  const claims: Record<string, string> = {};
  const expected = 'a comma-separated list of tenantId=<claim>, userId=<claim>, agentId=<claim>';
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^(tenantId|userId|agentId)=([^=\s]+)$/.exec(part);
    if (!match || Object.hasOwn(claims, match[1]!)) invalid(source, value, expected);
    claims[match[1]!] = match[2]!;
  }
  return Object.freeze(claims);
}

/** A user or group for the server: a name as /etc/passwd and /etc/group spell them, or a number. */
export function parseAccountName(source: ValueSource, value: string, kind: 'user' | 'group'): string {
  const trimmed = value.trim();
  const expected = `a ${kind} name (letters, digits, _ . -; up to 32 characters) or a numeric ${kind === 'user' ? 'uid' : 'gid'} below 4294967295`;
  if (/^\d+$/.test(trimmed)) {
    // 4294967295 is (uid_t)-1, which setuid reads as "no change".
    if (Number(trimmed) >= 4294967295) invalid(source, value, expected);
    return String(Number(trimmed));
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/.test(trimmed)) invalid(source, value, expected);
  return trimmed;
}
