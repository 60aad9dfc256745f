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
 * PATH entries never searched: empty ones (execvp reads them as the current directory) and
 * relative ones (`.`, `bin`), which name whatever directory the proxy happens to start in.
 */
export function untrustedPathEntries(pathVariable: string | undefined): string[] {
  return (pathVariable ?? '').split(delimiter).filter((dir) => !isAbsolute(dir));
}

/**
 * The absolute path a command name runs: a name with a slash is a path (relative to `cwd`),
 * any other is looked up in PATH's absolute entries only, so a `./node` planted in the working
 * directory never answers for `node`. Symlinks are not followed: the path is what was named, so
 * `nodejs` stays distinct from `node`. Undefined when nothing is found.
 */
export function resolveExecutable(name: string, pathVariable: string | undefined, cwd: string): string | undefined {
  if (name.includes('/')) {
    const path = isAbsolute(name) ? resolve(name) : resolve(cwd, name);
    return isExecutableFile(path) ? path : undefined;
  }
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = resolve(join(dir, name));
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
