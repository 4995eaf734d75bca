/**
 * Writes the contracts to a directory: `events/<name>.schema.json` (JSON Schema draft-07 of
 * each message body) and `asyncapi.yaml`. The output is deterministic, so a checked-in copy can
 * be compared with a fresh one.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIENT_BUS_ACCESS, SERVICE_BUS_ACCESS } from '@multi-agent/service-kit';
import { stringify } from 'yaml';
import { asyncApiDocument } from './asyncapi.js';
import { jsonSchemaOf, messageContracts } from './messages.js';

/** Where the AsyncAPI document goes, relative to the output directory. */
export const ASYNCAPI_FILE = 'asyncapi.yaml';
/** Where the event schemas go, relative to the output directory. */
export const SCHEMA_DIR = 'events';
const SCHEMA_SUFFIX = '.schema.json';

/** The files of the contracts, by path relative to the output directory. */
export function contractFiles(): Map<string, string> {
  const contracts = messageContracts();
  const files = new Map<string, string>();
  for (const c of contracts) {
    if (c.kind === 'advisory') continue; // the server's message, not ours: described in the AsyncAPI document only
    files.set(join(SCHEMA_DIR, `${c.name}${SCHEMA_SUFFIX}`), `${JSON.stringify(jsonSchemaOf(c), null, 2)}\n`);
  }
  const declarations = [
    ...Object.entries(SERVICE_BUS_ACCESS).map(([who, access]) => ({ who, access })),
    { who: 'every-service', access: CLIENT_BUS_ACCESS },
  ];
  files.set(ASYNCAPI_FILE, stringify(asyncApiDocument(contracts, declarations), { lineWidth: 0 }));
  return files;
}

/**
 * Writes the contracts under `dir` and removes schema files of messages that no longer exist.
 *
 * @returns the paths written, relative to `dir`
 */
export async function writeContracts(dir: string): Promise<string[]> {
  const files = contractFiles();
  await mkdir(join(dir, SCHEMA_DIR), { recursive: true });
  for (const name of await readdir(join(dir, SCHEMA_DIR))) {
    const path = join(SCHEMA_DIR, name);
    if (name.endsWith(SCHEMA_SUFFIX) && !files.has(path)) await rm(join(dir, path));
  }
  for (const [path, text] of files) await writeFile(join(dir, path), text);
  return [...files.keys()];
}
