import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where Node would find package `name` from `fromDir`: the nearest `node_modules/name` up the tree. */
const resolvePackageDir = (name: string, fromDir: string, root: string): string | undefined => {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
};

/**
 * The installed package folders that `names` need at run time, relative to `root`: the packages and
 * their dependencies, transitively, as Node resolves them from `root/node_modules`. A folder inside
 * another one listed is left out, since copying the outer one brings it along.
 */
export const runtimeModuleDirs = (root: string, names: readonly string[]): string[] => {
  const found = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    const dir = resolvePackageDir(name, fromDir, root);
    if (dir === undefined) {
      if (optional) return;
      throw new Error(`${name} is not installed under ${root}; run npm ci`);
    }
    if (found.has(dir)) return;
    found.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, dir, false);
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) visit(dependency, dir, true);
  };
  for (const name of names) visit(name, root, false);
  const dirs = [...found].sort();
  return dirs
    .filter((dir) => !dirs.some((outer) => outer !== dir && dir.startsWith(`${outer}${sep}`)))
    .map((dir) => relative(root, dir));
};

const quote = (path: string): string => `'${path.replaceAll("'", "'\\''")}'`;

/** Shell commands that copy the folders (relative to `inputDir`) to the same places under `outputDir`. */
export const copyCommands = (inputDir: string, outputDir: string, dirs: readonly string[]): string[] =>
  dirs.map(
    (dir) =>
      `mkdir -p ${quote(dirname(join(outputDir, dir)))} && cp -R ${quote(join(inputDir, dir))} ${quote(join(outputDir, dir))}`,
  );
