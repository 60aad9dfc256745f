import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path a command name runs, as execvp would find it: a name with a slash is a
 * path (relative to `cwd`), any other is looked up in PATH. Symlinks are not followed: the
 * path is what was named, so `nodejs` stays distinct from `node`. Undefined when nothing is found.
 */
export function resolveExecutable(name: string, pathVariable: string | undefined, cwd: string): string | undefined {
  if (name.includes('/')) {
    const path = isAbsolute(name) ? resolve(name) : resolve(cwd, name);
    return isExecutableFile(path) ? path : undefined;
  }
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue; // an empty PATH entry means cwd to execvp; never trust it implicitly
    const candidate = resolve(cwd, join(dir, name));
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
