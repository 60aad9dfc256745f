import { readFileSync, statSync } from 'node:fs';
import { SidecarError } from '../errors/index.js';

// --server-user / --server-group: the server runs under a uid of its own, so it cannot read what
// is the proxy's (its /proc/<pid>/environ, its key and token files) nor signal it. Names are
// read from /etc/passwd and /etc/group directly: no shell, no getent, no NSS module.

/** The account the server runs as. */
export interface ServerAccount {
  readonly uid: number;
  readonly gid: number;
  /** For messages and the server's USER/LOGNAME: the name, or the number when it has no entry. */
  readonly user: string;
  readonly group: string;
  /** The user's passwd entry: its name and home, for the server's USER, LOGNAME and HOME. */
  readonly entry: { readonly name: string; readonly home: string } | undefined;
}

/** What the checks read from the system; injected by tests. */
export interface AccountSystem {
  readonly platform: NodeJS.Platform;
  euid(): number;
  /** /etc/passwd, /etc/group, /proc/self/status. Throws when absent. */
  readFile(path: string): string;
  /** Owner and mode of a file, through symlinks (a Kubernetes Secret file is one). Throws when absent. */
  stat(path: string): { readonly uid: number; readonly mode: number };
}

export const systemAccounts: AccountSystem = {
  platform: process.platform,
  euid: () => process.geteuid?.() ?? -1,
  readFile: (path) => readFileSync(path, 'utf8'),
  stat: (path) => statSync(path),
};

export interface ServerAccountSettings {
  readonly user: string;
  readonly group: string | undefined;
}

/** A file of the proxy's the server must not read, and the setting that names it. */
export interface ProxySecretFile {
  readonly path: string;
  readonly setting: string;
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

interface GroupEntry {
  readonly name: string;
  readonly gid: number;
}

/** `name:password:uid:gid:gecos:home:shell` lines; comments, blanks and NIS `+`/`-` lines skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (fields.length < 7 || /^[#+-]/.test(line) || !/^\d+$/.test(fields[2]!) || !/^\d+$/.test(fields[3]!)) return [];
    return [{ name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! }];
  });
}

/** `name:password:gid:members` lines. */
export function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.split(':');
    if (fields.length < 4 || /^[#+-]/.test(line) || !/^\d+$/.test(fields[2]!)) return [];
    return [{ name: fields[0]!, gid: Number(fields[2]) }];
  });
}

// Linux capability numbers (linux/capability.h).
const CAPABILITIES = { CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7 } as const;
type Capability = keyof typeof CAPABILITIES;
/** setuid and setgid (and setgroups, which drops the proxy's supplementary groups), then signals to a process of another uid. */
const NEEDED: readonly Capability[] = ['CAP_SETUID', 'CAP_SETGID', 'CAP_KILL'];

/** The effective capability set from /proc/<pid>/status text, or undefined when it has none. */
export function effectiveCapabilities(status: string): bigint | undefined {
  const match = /^CapEff:\s*([0-9a-f]+)\s*$/im.exec(status);
  return match === null ? undefined : BigInt(`0x${match[1]}`);
}

function refuse(detail: string, hint: string): never {
  throw new SidecarError('SIDECAR_ERR_GOVERNOR_NOT_ALLOWED', detail, { hint });
}

function readEntries<T>(system: AccountSystem, path: string, parse: (text: string) => T[]): T[] {
  try {
    return parse(system.readFile(path));
  } catch {
    return []; // no such file: names cannot be resolved, numbers still can
  }
}

const isNumber = (text: string): boolean => /^\d+$/.test(text);

/** The uid and gid the settings name, or a refusal that says which name is unknown. */
export function resolveServerAccount(settings: ServerAccountSettings, system: AccountSystem = systemAccounts): ServerAccount {
  const users = readEntries(system, '/etc/passwd', parsePasswd);
  const flag = `--server-user ${settings.user}`;
  const entry = isNumber(settings.user) ? users.find((u) => u.uid === Number(settings.user)) : users.find((u) => u.name === settings.user);
  if (entry === undefined && !isNumber(settings.user)) {
    refuse(`${flag}: there is no user named ${JSON.stringify(settings.user)} in /etc/passwd`,
      'names are read from /etc/passwd only (not LDAP or other NSS sources): give a user listed there, or its numeric uid with --server-group');
  }
  const uid = entry?.uid ?? Number(settings.user);
  let gid: number;
  let group: string;
  if (settings.group === undefined) {
    if (entry === undefined) {
      refuse(`${flag}: uid ${uid} has no entry in /etc/passwd, so it has no primary group to run the server with`, 'give the group too: --server-group <name|gid>');
    }
    gid = entry.gid;
    group = readEntries(system, '/etc/group', parseGroup).find((g) => g.gid === gid)?.name ?? String(gid);
  } else if (isNumber(settings.group)) {
    gid = Number(settings.group);
    group = settings.group;
  } else {
    const found = readEntries(system, '/etc/group', parseGroup).find((g) => g.name === settings.group);
    if (found === undefined) {
      refuse(`--server-group ${settings.group}: there is no group named ${JSON.stringify(settings.group)} in /etc/group`,
        'names are read from /etc/group only: give a group listed there, or its numeric gid');
    }
    gid = found.gid;
    group = found.name;
  }
  const user = entry?.name ?? String(uid);
  // Root's uid or group would give the server what it is separated from.
  if (uid === 0) refuse(`${flag} is root (uid 0)`, 'give the server an unprivileged user of its own');
  if (gid === 0) refuse(`${flag}: the server's group ${group} is gid 0, root's group: the server could read every file root's group may`, 'give --server-group an unprivileged group');
  return { uid, gid, user, group, entry: entry === undefined ? undefined : { name: entry.name, home: entry.home } };
}

const who = (account: ServerAccount): string => `${account.user} (uid ${account.uid})`;

/**
 * Refuses unless the proxy can start the server as `account` and still stop it: on Linux its
 * effective capabilities must hold CAP_SETUID, CAP_SETGID and CAP_KILL (root's usually do, a
 * container's root may not); elsewhere it must be root. Never falls back to the same user.
 */
export function checkMaySwitch(account: ServerAccount, system: AccountSystem = systemAccounts): void {
  const euid = system.euid();
  const hint = 'run the proxy as root, or with the capabilities SETUID, SETGID and KILL (in Kubernetes: runAsUser 0, capabilities drop ALL, add SETUID, SETGID, KILL; see docs/kubernetes.md); or leave --server-user unset';
  if (system.platform === 'win32') refuse('--server-user is not supported on Windows', 'leave --server-user unset');
  if (account.uid === euid) {
    refuse(`--server-user ${who(account)} is the proxy's own user: the server could read the proxy's /proc/<pid>/environ and its key and token files`,
      'give the server a user of its own');
  }
  if (system.platform !== 'linux') {
    if (euid !== 0) refuse(`--server-user ${who(account)}: the proxy runs as uid ${euid}, and only root may start a process as another user`, hint);
    return;
  }
  let status: string | undefined;
  try {
    status = system.readFile('/proc/self/status');
  } catch {
    status = undefined;
  }
  const effective = status === undefined ? undefined : effectiveCapabilities(status);
  // Without /proc, root is the best evidence there is; the spawn itself would fail with EPERM otherwise.
  if (effective === undefined) {
    if (euid !== 0) refuse(`--server-user ${who(account)}: the proxy runs as uid ${euid}, and its capabilities cannot be read from /proc/self/status`, hint);
    return;
  }
  const missing = NEEDED.filter((name) => (effective & (1n << BigInt(CAPABILITIES[name]))) === 0n);
  if (missing.length > 0) {
    refuse(`--server-user ${who(account)}: the proxy (uid ${euid}) may not start and stop a process as another user: its effective capabilities lack ${missing.join(', ')}`, hint);
  }
}

/**
 * Refuses when the server's user could read one of the proxy's secret files: each must belong
 * to the proxy's user and give nothing to group or others (mode 0400 or 0600). A file that does
 * not exist is left to the code that reads it, which says so itself.
 */
export function checkSecretsUnreadable(files: readonly ProxySecretFile[], account: ServerAccount, system: AccountSystem = systemAccounts): void {
  const euid = system.euid();
  for (const { path, setting } of files) {
    let stats: { uid: number; mode: number };
    try {
      stats = system.stat(path);
    } catch {
      continue;
    }
    const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
    if (stats.uid !== euid) {
      refuse(`${setting} ${path} belongs to uid ${stats.uid}, not to the proxy's user (uid ${euid}): with the server running as ${who(account)}, the proxy's secrets must be the proxy's alone`,
        `chown ${euid} ${path} && chmod 0400 ${path}`);
    }
    if ((stats.mode & 0o077) !== 0) {
      refuse(`${setting} ${path} can be read by users other than the proxy's (mode ${mode}): the server runs as ${who(account)} and must not read it`,
        `chmod 0400 ${path} (owner-only; in Kubernetes, the Secret volume's defaultMode: 0400)`);
    }
  }
}

/** Everything --server-user needs, checked at start before anything runs: the account, the right to use it, the secrets. */
export function prepareServerAccount(settings: ServerAccountSettings, secrets: readonly ProxySecretFile[], system: AccountSystem = systemAccounts): ServerAccount {
  const account = resolveServerAccount(settings, system);
  checkMaySwitch(account, system);
  checkSecretsUnreadable(secrets, account, system);
  return account;
}
