import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileAccess, pinExecutable, type PinFileAccess } from '../../../components/proxy-process-governor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'executable-pin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONTENT = '#!/bin/sh\necho approved\n';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

let files = 0;
function executable(content = CONTENT): string {
  const path = join(dir, `server-${files++}.sh`);
  writeFileSync(path, content, { mode: 0o755 });
  return path;
}

/** The real file access, counting the hashes; `later` checks as if the file had been written long ago. */
function counting(later = true): PinFileAccess & { hashes: number } {
  const access = {
    hashes: 0,
    identify: fileAccess.identify,
    hash(path: string) {
      access.hashes++;
      return fileAccess.hash(path);
    },
    now: () => Date.now() + (later ? 60_000 : 0),
  };
  return access;
}

describe('executable pin', () => {
  it('should hash an unchanged file once, however often it is checked', () => {
    const path = executable();
    const access = counting();
    const pin = pinExecutable(path, sha256(CONTENT), 'server', access);
    for (let i = 0; i < 5; i++) assert.equal(pin.check(), undefined);
    assert.equal(access.hashes, 1);
  });

  it('should hash again a file touched with the same contents, and accept it', () => {
    const path = executable();
    const access = counting();
    const pin = pinExecutable(path, sha256(CONTENT), 'server', access);
    assert.equal(pin.check(), undefined);
    const { atime, mtime } = statSync(path);
    utimesSync(path, atime, new Date(mtime.getTime() + 1000));
    assert.equal(pin.check(), undefined);
    assert.equal(access.hashes, 2);
    assert.equal(pin.check(), undefined);
    assert.equal(access.hashes, 2, 'verified again: back to stat only');
  });

  it('should refuse a file whose contents were replaced, with the refusal the check at start gives', () => {
    const path = executable();
    const access = counting();
    const pin = pinExecutable(path, sha256(CONTENT), 'server --stdio', access);
    assert.equal(pin.check(), undefined);
    const swapped = '#!/bin/sh\necho impostor\n';
    writeFileSync(path, swapped);
    assert.deepEqual(pin.check(), {
      reason: 'digest_mismatch',
      message: `refused to start server --stdio: ${path} has sha256 ${sha256(swapped)}, but ${sha256(CONTENT)} is pinned`,
    });
    assert.equal(access.hashes, 2);
    assert.equal(pin.check()?.reason, 'digest_mismatch', 'still refused: a refusal is never remembered as verified');
  });

  it('should refuse a file swapped by rename for one of the same size and times (a new inode)', () => {
    const path = executable();
    const pin = pinExecutable(path, sha256(CONTENT), 'server', counting());
    assert.equal(pin.check(), undefined);
    const impostor = executable(CONTENT.replace('approved', 'impostor'));
    const { atime, mtime } = statSync(path);
    utimesSync(impostor, atime, mtime);
    renameSync(impostor, path);
    assert.equal(pin.check()?.reason, 'digest_mismatch');
  });

  it('should hash a file written just now at every check (its timestamps could repeat)', () => {
    const path = executable();
    const access = counting(false);
    const pin = pinExecutable(path, sha256(CONTENT), 'server', access);
    assert.equal(pin.check(), undefined);
    assert.equal(pin.check(), undefined);
    assert.equal(access.hashes, 2);
  });

  it('should say when the executable is gone, as a spawn would', () => {
    const path = executable();
    const pin = pinExecutable(path, sha256(CONTENT), 'server', counting());
    assert.equal(pin.check(), undefined);
    rmSync(path);
    assert.deepEqual(pin.check(), { reason: 'not_found', message: `cannot start server: ${path} no longer exists` });
  });
});
