/**
 * The public API report of the library packages: every name a package's `src/index.ts`
 * exports, with its kind and signature, written to `<package>/api-report.md`. A change to the
 * public surface then shows up in review as a diff of that file, and `test/api-report.test.ts`
 * fails until the report is regenerated with `npm run api-report`.
 */
import ts from 'typescript';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The workspace packages whose public surface is recorded: every one the root package.json names. */
export const REPORTED_PACKAGES: readonly string[] = workspaces();

function workspaces(): string[] {
  const { workspaces: patterns } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
  return patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(repoRoot, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, parent, entry.name, 'src/index.ts')))
      .map((entry) => `${parent}/${entry.name}`)
      .sort();
  });
}

/** One exported name. */
export interface ApiEntry {
  name: string;
  kind: string;
  /** The declaration as a reader of the API sees it (type text, or the public members of a class). */
  signature: string;
  /** False when the export has no TSDoc comment. */
  documented: boolean;
}

const FORMAT: ts.TypeFormatFlags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;

function kindOf(symbol: ts.Symbol): string {
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) return 'const';
  return 'other';
}

function publicMembers(checker: ts.TypeChecker, symbol: ts.Symbol, declaration: ts.Declaration): string {
  const instance = checker.getDeclaredTypeOfSymbol(symbol);
  const statics = checker.getTypeOfSymbolAtLocation(symbol, declaration);
  const describe = (prefix: string, type: ts.Type): string[] =>
    type
      .getProperties()
      .filter((member) => {
        const declared = member.valueDeclaration ?? member.declarations?.[0];
        // Members without a declaration are synthetic (`prototype`); those declared by the
        // standard library or a dependency (Error's `stack`, `captureStackTrace`) are not ours.
        if (declared === undefined || member.name.startsWith('#')) return false;
        if (declared.getSourceFile().fileName.includes('/node_modules/')) return false;
        return (ts.getCombinedModifierFlags(declared) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
      })
      .map((member) => `${prefix}${member.name}: ${checker.typeToString(checker.getTypeOfSymbolAtLocation(member, declaration), undefined, FORMAT)}`);
  const constructors = statics.getConstructSignatures().map((s) => `new${checker.signatureToString(s, undefined, FORMAT)}`);
  return [...constructors, ...describe('static ', statics), ...describe('', instance)].sort().join('\n');
}

/** The exported names of one package, sorted by name. */
export function apiEntries(packageDir: string): ApiEntry[] {
  const entry = join(repoRoot, packageDir, 'src/index.ts');
  const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  const program = ts.createProgram([entry], { ...config?.options, noEmit: true });
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(entry);
  if (sourceFile === undefined) throw new Error(`${entry}: not in the program (does the file exist?)`);
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
  if (moduleSymbol === undefined) throw new Error(`${entry}: not a module (it exports nothing)`);
  return checker
    .getExportsOfModule(moduleSymbol)
    .map((exported) => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.[0];
      const kind = kindOf(symbol);
      let signature = '';
      if (declaration !== undefined) {
        if (kind === 'class') signature = publicMembers(checker, symbol, declaration);
        else if (kind === 'interface' || kind === 'type') signature = checker.typeToString(checker.getDeclaredTypeOfSymbol(symbol), undefined, FORMAT | ts.TypeFormatFlags.InTypeAlias);
        else signature = checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, declaration), undefined, FORMAT);
      }
      return { name: exported.name, kind, signature, documented: symbol.getDocumentationComment(checker).length > 0 };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The report text of one package. */
export function apiReport(packageDir: string): string {
  const lines = [
    `# Public API of ${packageDir}`,
    '',
    'Generated by `npm run api-report` from `src/index.ts`; a test fails when it is out of date.',
    'A change here is a change to what users of the package may rely on: review it as such.',
    '',
  ];
  for (const e of apiEntries(packageDir)) {
    lines.push(`## ${e.name} (${e.kind})`, '', '```ts', e.signature, '```', '');
  }
  return lines.join('\n');
}

/** Where a package's report is kept. */
export function reportPath(packageDir: string): string {
  return join(repoRoot, packageDir, 'api-report.md');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const dir of REPORTED_PACKAGES) {
    writeFileSync(reportPath(dir), apiReport(dir));
    console.log(`wrote ${reportPath(dir)}`);
  }
}
