import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  childEnvironment, effectiveCapabilities, parseGroup, parsePasswd, prepareServerAccount, resolveServerAccount, type AccountSystem,
} from '../../../components/proxy-process-governor/index.js';
import { isSidecarError } from '../../../components/errors/index.js';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
mcp:x:10001:10002:MCP server:/home/mcp:/usr/sbin/nologin
rootgroup:x:10003:0::/home/rg:/bin/sh
+nisuser::::::
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
mcp-server:x:10002:
nogroup:x:65534:
`;

// CapEff with CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7): 0xe0.
const ALL_CAPS = 'CapEff:\t000001ffffffffff\n';
const NO_CAPS = 'CapEff:\t0000000000000000\n';

function system(overrides: Partial<AccountSystem> & { status?: string; files?: Record<string, { uid: number; mode: number }> } = {}): AccountSystem {
  const files: Record<string, string> = { '/etc/passwd': PASSWD, '/etc/group': GROUP, '/proc/self/status': overrides.status ?? ALL_CAPS };
  return {
    platform: 'linux',
    euid: () => 0,
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    stat(path) {
      const stats = overrides.files?.[path];
      if (stats === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return stats;
    },
    ...overrides,
  };
}

function refusal(run: () => unknown): { code: string; message: string; hint: string | undefined } {
  try {
    run();
  } catch (error) {
    assert.ok(isSidecarError(error), String(error));
    return { code: error.code, message: error.message, hint: error.hint };
  }
  assert.fail('expected a refusal');
}

describe('parsePasswd and parseGroup', () => {
  it('should read entries and skip comments, NIS lines and malformed ones', () => {
    assert.deepEqual(parsePasswd(PASSWD).map((u) => [u.name, u.uid, u.gid, u.home]), [
      ['root', 0, 0, '/root'], ['daemon', 1, 1, '/usr/sbin'], ['mcp', 10001, 10002, '/home/mcp'], ['rootgroup', 10003, 0, '/home/rg'], ['nobody', 65534, 65534, '/nonexistent'],
    ]);
    assert.deepEqual(parseGroup(GROUP).map((g) => [g.name, g.gid]), [['root', 0], ['mcp-server', 10002], ['nogroup', 65534]]);
  });

  it('should read the effective capabilities from /proc/self/status', () => {
    assert.equal(effectiveCapabilities('Name:\tnode\nCapPrm:\t00000000000000ff\nCapEff:\t00000000000000e0\n'), 0xe0n);
    assert.equal(effectiveCapabilities('Name:\tnode\n'), undefined);
  });
});

describe('resolveServerAccount', () => {
  it('should take a user name with its primary group, or a group given by name or number', () => {
    assert.deepEqual(resolveServerAccount({ user: 'mcp', group: undefined }, system()),
      { uid: 10001, gid: 10002, user: 'mcp', group: 'mcp-server', entry: { name: 'mcp', home: '/home/mcp' } });
    assert.deepEqual(resolveServerAccount({ user: 'nobody', group: 'mcp-server' }, system()).gid, 10002);
    assert.deepEqual(resolveServerAccount({ user: '65534', group: '4242' }, system()), { uid: 65534, gid: 4242, user: 'nobody', group: '4242', entry: { name: 'nobody', home: '/nonexistent' } });
  });

  it('should take a uid without a passwd entry only with a group', () => {
    assert.deepEqual(resolveServerAccount({ user: '20000', group: '20000' }, system()), { uid: 20000, gid: 20000, user: '20000', group: '20000', entry: undefined });
    const refused = refusal(() => resolveServerAccount({ user: '20000', group: undefined }, system()));
    assert.equal(refused.message, 'The server command is not allowed to start: --server-user 20000: uid 20000 has no entry in /etc/passwd, so it has no primary group to run the server with');
    assert.equal(refused.hint, 'give the group too: --server-group <name|gid>');
  });

  it('should refuse unknown names, saying where names are read from', () => {
    const user = refusal(() => resolveServerAccount({ user: 'nosuchuser', group: undefined }, system()));
    assert.equal(user.code, 'SIDECAR_ERR_GOVERNOR_NOT_ALLOWED');
    assert.match(user.message, /--server-user nosuchuser: there is no user named "nosuchuser" in \/etc\/passwd/);
    assert.match(user.hint!, /\/etc\/passwd only \(not LDAP or other NSS sources\)/);
    assert.match(refusal(() => resolveServerAccount({ user: 'mcp', group: 'nosuchgroup' }, system())).message, /--server-group nosuchgroup: there is no group named "nosuchgroup" in \/etc\/group/);
  });

  it('should refuse root\'s uid and root\'s group', () => {
    assert.match(refusal(() => resolveServerAccount({ user: 'root', group: undefined }, system())).message, /--server-user root is root \(uid 0\)/);
    assert.match(refusal(() => resolveServerAccount({ user: 'rootgroup', group: undefined }, system())).message, /the server's group root is gid 0/);
    assert.match(refusal(() => resolveServerAccount({ user: 'mcp', group: '0' }, system())).message, /gid 0, root's group/);
  });
});

describe('prepareServerAccount', () => {
  const settings = { user: 'mcp', group: undefined };

  it('should admit a proxy with CAP_SETUID, CAP_SETGID and CAP_KILL, root or not', () => {
    assert.equal(prepareServerAccount(settings, [], system()).uid, 10001);
    assert.equal(prepareServerAccount(settings, [], system({ euid: () => 1000, status: 'CapEff:\t00000000000000e0\n' })).uid, 10001);
  });

  it('should refuse when the proxy may not switch users, naming what it lacks, and never run the server as itself', () => {
    const noCaps = refusal(() => prepareServerAccount(settings, [], system({ euid: () => 1000, status: NO_CAPS })));
    assert.equal(noCaps.message, 'The server command is not allowed to start: --server-user mcp (uid 10001): the proxy (uid 1000) may not start and stop a process as another user: its effective capabilities lack CAP_SETUID, CAP_SETGID, CAP_KILL');
    assert.match(noCaps.hint!, /runAsUser 0, capabilities drop ALL, add SETUID, SETGID, KILL/);
    // Root in a container whose capabilities were dropped is not enough: signalling another uid needs CAP_KILL.
    assert.match(refusal(() => prepareServerAccount(settings, [], system({ status: 'CapEff:\t00000000000000c0\n' }))).message, /lack CAP_KILL$/);
    assert.match(refusal(() => prepareServerAccount({ user: '1000', group: '1000' }, [], system({ euid: () => 1000 }))).message, /--server-user 1000 \(uid 1000\) is the proxy's own user/);
  });

  it('should go by root alone where there is no /proc, and refuse on Windows', () => {
    assert.equal(prepareServerAccount(settings, [], system({ platform: 'darwin' })).uid, 10001);
    assert.match(refusal(() => prepareServerAccount(settings, [], system({ platform: 'darwin', euid: () => 501 }))).message, /the proxy runs as uid 501, and only root may start a process as another user/);
    assert.match(refusal(() => prepareServerAccount(settings, [], system({ platform: 'win32' }))).message, /not supported on Windows/);
  });

  it('should refuse when a secret file of the proxy\'s could be read by the server, naming the file and the fix', () => {
    const key = { path: '/run/keys/report.pem', setting: '--report-signing-key' };
    const token = { path: '/run/secrets/token', setting: '--auth-token-file' };
    const ok = system({ files: { [key.path]: { uid: 0, mode: 0o100400 }, [token.path]: { uid: 0, mode: 0o100600 } } });
    assert.equal(prepareServerAccount(settings, [key, token], ok).uid, 10001);

    const readable = refusal(() => prepareServerAccount(settings, [key, token], system({ files: { [key.path]: { uid: 0, mode: 0o100644 } } })));
    assert.equal(readable.message, 'The server command is not allowed to start: --report-signing-key /run/keys/report.pem can be read by users other than the proxy\'s (mode 0644): the server runs as mcp (uid 10001) and must not read it');
    assert.match(readable.hint!, /^chmod 0400 \/run\/keys\/report.pem/);
    assert.match(refusal(() => prepareServerAccount(settings, [token], system({ files: { [token.path]: { uid: 0, mode: 0o100440 } } }))).message, /--auth-token-file \/run\/secrets\/token can be read .*\(mode 0440\)/);
    const owned = refusal(() => prepareServerAccount(settings, [token], system({ files: { [token.path]: { uid: 10001, mode: 0o100400 } } })));
    assert.match(owned.message, /--auth-token-file \/run\/secrets\/token belongs to uid 10001, not to the proxy's user \(uid 0\)/);
    assert.equal(owned.hint, 'chown 0 /run/secrets/token && chmod 0400 /run/secrets/token');
    // Missing: the code that reads the file says so itself.
    assert.equal(prepareServerAccount(settings, [{ path: '/nope', setting: '--auth-token-file' }], system()).uid, 10001);
  });
});

describe('childEnvironment with a server account', () => {
  const parent = { PATH: '/usr/bin', HOME: '/root', USER: 'root', LOGNAME: 'root' };

  it('should give the server its own USER, LOGNAME and HOME, or none without a passwd entry; --set-env still wins', () => {
    assert.deepEqual(childEnvironment(parent, { account: { entry: { name: 'mcp', home: '/home/mcp' } } }), { PATH: '/usr/bin', HOME: '/home/mcp', USER: 'mcp', LOGNAME: 'mcp' });
    assert.deepEqual(childEnvironment(parent, { account: { entry: undefined } }), { PATH: '/usr/bin' });
    assert.equal(childEnvironment(parent, { account: { entry: undefined }, set: { HOME: '/srv/mcp' } }).HOME, '/srv/mcp');
  });
});
