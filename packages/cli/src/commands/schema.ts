/** `multi-agent schema --out <dir>`: writes the event JSON Schemas and the AsyncAPI document. */
import { writeContracts } from '../contracts/write.js';
import type { Io } from '../output.js';

/** Writes the contracts under `dir` and lists what it wrote. */
export async function schemaCommand(io: Io, dir: string): Promise<void> {
  const written = await writeContracts(dir);
  io.out(`wrote ${written.length} files to ${dir}`);
}
