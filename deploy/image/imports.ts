/**
 * Which packages a workspace's code imports, read from its sources: what its `dependencies`
 * must declare, and what must resolve where it is installed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';

/** Packages imported by some code: for its values (`runtime`) or only for types. */
export interface ImportedPackages {
  runtime: Set<string>;
  typeOnly: Set<string>;
}

const STATIC = /^\s*(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for relative and built-in ones. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : [];
  });
}

/** The packages imported by the code under `dirs` (a package's `src` and `bin`). */
export function importedPackages(dirs: string[]): ImportedPackages {
  const runtime = new Set<string>();
  const typeOnly = new Set<string>();
  for (const file of dirs.flatMap(sourceFiles)) {
    const text = readFileSync(file, 'utf8');
    for (const [statement, type, specifier] of text.matchAll(STATIC)) {
      if (specifier === undefined) throw new Error(`${file}: no module specifier captured in ${statement}`);
      const name = packageOf(specifier);
      if (name !== undefined) (type === undefined ? runtime : typeOnly).add(name);
    }
    for (const [call, specifier] of text.matchAll(DYNAMIC)) {
      if (specifier === undefined) throw new Error(`${file}: no module specifier captured in ${call}`);
      const name = packageOf(specifier);
      if (name !== undefined) runtime.add(name);
    }
  }
  for (const name of runtime) typeOnly.delete(name);
  return { runtime, typeOnly };
}
