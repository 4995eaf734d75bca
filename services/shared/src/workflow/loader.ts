/**
 * Loading workflow files (`*.yaml`, `*.yml`, `*.json`) from a directory. A service refuses to
 * start with a broken workflow file: better a clear error at startup than a failed execution.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { AgentRegistry } from './agents.js';
import type { WorkflowDefinition } from './schema.js';
import { validateWorkflow, WorkflowDefinitionError } from './validate.js';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The repository's `workflows/` directory (what `WORKFLOWS_DIR` overrides). */
export function defaultWorkflowsDir(): string {
  return resolve(fileURLToPath(new URL('../../../../workflows', import.meta.url)));
}

/**
 * Parses and validates one workflow document.
 *
 * @param text - the file content
 * @param source - the file name; its extension picks JSON or YAML
 * @throws WorkflowDefinitionError for a syntax error or an invalid workflow
 */
export function parseWorkflow(text: string, source: string): WorkflowDefinition {
  let value: unknown;
  try {
    value = extname(source) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new WorkflowDefinitionError(source, [`cannot parse: ${(err as Error).message.split('\n')[0]}`]);
  }
  return validateWorkflow(value, source);
}

/**
 * Loads every workflow file of `dir`, keyed by workflow ID.
 *
 * @throws WorkflowDefinitionError naming the file, for the first invalid file or a workflow ID
 *   used by two files; or naming the nodes, for an agent id the files define differently
 */
export async function loadWorkflows(dir: string = defaultWorkflowsDir()): Promise<Map<string, WorkflowDefinition>> {
  const files = (await readdir(dir)).filter((f) => EXTENSIONS.has(extname(f))).sort();
  const workflows = new Map<string, WorkflowDefinition>();
  const sources = new Map<string, string>();
  for (const file of files) {
    const path = join(dir, file);
    const workflow = parseWorkflow(await readFile(path, 'utf8'), path);
    const other = sources.get(workflow.id);
    if (other !== undefined) {
      throw new WorkflowDefinitionError(path, [`workflow id "${workflow.id}" is already defined in ${other}`]);
    }
    workflows.set(workflow.id, workflow);
    sources.set(workflow.id, path);
  }
  AgentRegistry.fromWorkflows(workflows);
  return workflows;
}
