import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackHost, type HttpSettings } from '../config/index.js';

/** The one value of a header (the first if repeated), or undefined. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The media type without parameters, lower case (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(value: string | undefined): string | undefined {
  if (value === undefined || value === 'application/json') return value; // the common case, already plain
  const semicolon = value.indexOf(';');
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

export interface Acceptable {
  readonly json: boolean;
  readonly sse: boolean;
}

const ANYTHING: Acceptable = Object.freeze({ json: true, sse: true });
// A client sends the same Accept on every request: the last one read is remembered.
let lastAccept: { readonly value: string; readonly acceptable: Acceptable } | undefined;

/** What the `Accept` header admits. Absent means anything (RFC 9110); `q` values are not weighed. */
export function readAccept(value: string | undefined): Acceptable {
  if (value === undefined) return ANYTHING;
  if (lastAccept?.value === value) return lastAccept.acceptable;
  const acceptable = Object.freeze(parseAccept(value));
  lastAccept = { value, acceptable };
  return acceptable;
}

function parseAccept(value: string): Acceptable {
  if (value.trim() === '') return ANYTHING;
  let json = false;
  let sse = false;
  for (const part of value.split(',')) {
    const type = mediaType(part);
    if (type === '*/*') return { json: true, sse: true };
    if (type === 'application/json' || type === 'application/*') json = true;
    if (type === 'text/event-stream' || type === 'text/*') sse = true;
  }
  return { json, sse };
}

interface HostEntry {
  readonly host: string;
  /** undefined: any port. */
  readonly port: number | undefined;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` → lower-case host without brackets, and the port if given. */
function parseHostPort(text: string): HostEntry | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!match) return undefined;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1').toLowerCase(), port: match[2] === undefined ? undefined : Number(match[2]) };
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** Host and Origin checks (DNS-rebinding protection), built once from the settings and the bound port. */
export interface OriginGuard {
  /** False: answer 403. `undefined` is a request without a Host header. */
  allowHost(host: string | undefined): boolean;
  /** False: answer 403. A request without Origin (not from a browser) passes. */
  allowOrigin(origin: string | undefined): boolean;
  /** Whether the Host header is checked at all (off only for a wildcard address with no allowed hosts given). */
  readonly checksHost: boolean;
}

// Defaults: on a loopback address, the Host must name this machine by a loopback name with the
// bound port, and an Origin must be the same loopback origin; on another address, the Host must
// name it with the port, except on a wildcard address (0.0.0.0, ::), where any Host passes
// (auth is required there) unless --http-allowed-host is given; no cross-origin request passes
// unless --http-allowed-origin names its origin.
export function createOriginGuard(settings: HttpSettings, port: number): OriginGuard {
  const listenHost = settings.listen.host.toLowerCase();
  const loopback = isLoopbackHost(listenHost);
  let hosts: HostEntry[] = settings.allowedHosts.map((text) => parseHostPort(text)).filter((e): e is HostEntry => e !== undefined);
  const checksHost = settings.allowedHosts.length > 0 || !WILDCARD_HOSTS.has(listenHost);
  if (settings.allowedHosts.length === 0) {
    hosts = [{ host: listenHost, port }];
    if (loopback) hosts.push(...LOOPBACK_NAMES.map((host) => ({ host, port })));
  }
  const origins = new Set(settings.allowedOrigins.map((text) => normalizeOrigin(text)).filter((o): o is string => o !== undefined));
  if (settings.allowedOrigins.length === 0 && loopback) {
    for (const host of LOOPBACK_NAMES) origins.add(normalizeOrigin(`http://${host.includes(':') ? `[${host}]` : host}:${port}`)!);
  }
  const hostAllowed = (header: string): boolean => {
    const entry = parseHostPort(header);
    if (entry === undefined) return false;
    const headerPort = entry.port ?? 80;
    return hosts.some((allowed) => allowed.host === entry.host && (allowed.port === undefined || allowed.port === headerPort));
  };
  const originAllowed = (header: string): boolean => {
    const origin = normalizeOrigin(header);
    return origin !== undefined && origins.has(origin);
  };
  // Every request names the same Host (and a browser the same Origin): verdicts are remembered
  // by the header's exact text, a bounded few (a client cycling values only costs the parse).
  const hostVerdicts = new Map<string, boolean>();
  const originVerdicts = new Map<string, boolean>();
  return {
    checksHost,
    allowHost(header) {
      if (!checksHost) return true;
      if (header === undefined) return false;
      return remembered(hostVerdicts, header, hostAllowed);
    },
    allowOrigin(header) {
      if (header === undefined) return true;
      return remembered(originVerdicts, header, originAllowed);
    },
  };
}

const REMEMBERED_VERDICTS = 32;

function remembered(verdicts: Map<string, boolean>, header: string, decide: (header: string) => boolean): boolean {
  const known = verdicts.get(header);
  if (known !== undefined) return known;
  const verdict = decide(header);
  if (verdicts.size >= REMEMBERED_VERDICTS) verdicts.clear();
  verdicts.set(header, verdict);
  return verdict;
}

/** `scheme://host[:port]` as the URL parser writes it (lower case, default port dropped); undefined if not an origin. */
function normalizeOrigin(text: string): string | undefined {
  try {
    const url = new URL(text.trim());
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}
