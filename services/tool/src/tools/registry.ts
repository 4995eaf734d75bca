/**
 * The tool catalogue: each tool has an ID, a description, an input schema and a function.
 * Input is validated before a tool runs, so a tool only ever sees well-formed input.
 */
import type * as z from 'zod';
import { calculator, calculatorInputSchema } from './calculator.js';
import { clock, clockInputSchema } from './clock.js';
import { jsonPath, jsonPathInputSchema } from './json-path.js';
import { ToolError } from './tool-error.js';

/** One tool. */
export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  id: string;
  description: string;
  inputSchema: S;
  run(input: z.output<S>, signal?: AbortSignal): unknown;
}

/** Builds a tool definition with its input type inferred from its schema. */
export function defineTool<S extends z.ZodType>(tool: ToolDefinition<S>): ToolDefinition {
  return tool;
}

/** Options of the built-in tools. */
export interface BuiltinToolOptions {
  /** The clock's time source (tests pin it). */
  now?: () => Date;
}

/** `calculator`, `clock` and `json-path`. */
export function builtinTools(options: BuiltinToolOptions = {}): ToolDefinition[] {
  const now = options.now ?? (() => new Date());
  return [
    defineTool({
      id: 'calculator',
      description: 'Evaluates an arithmetic expression: + - * / % ^, parentheses, pi, e, abs sqrt round floor ceil min max log log10 exp sin cos tan.',
      inputSchema: calculatorInputSchema,
      run: calculator,
    }),
    defineTool({
      id: 'clock',
      description: 'The current date and time in UTC or an IANA time zone.',
      inputSchema: clockInputSchema,
      run: (input) => clock(input, now()),
    }),
    defineTool({
      id: 'json-path',
      description: "Extracts values from a JSON document with a JSONPath subset ($, .name, ['name'], [0], [-1], [*], .*, ..name).",
      inputSchema: jsonPathInputSchema,
      run: jsonPath,
    }),
  ];
}

/** A set of tools by ID. */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  constructor(tools: ToolDefinition[]) {
    for (const tool of tools) this.tools.set(tool.id, tool);
  }

  /** Tool IDs and descriptions. */
  list(): { id: string; description: string }[] {
    return [...this.tools.values()].map(({ id, description }) => ({ id, description }));
  }

  /**
   * Validates `params` and runs the tool.
   *
   * @throws ToolError `UNKNOWN_TOOL`, `INVALID_INPUT` (listing each bad field), or the tool's own code
   */
  async run(toolId: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    const tool = this.tools.get(toolId);
    if (tool === undefined) {
      throw new ToolError('UNKNOWN_TOOL', `unknown tool "${toolId}" (available: ${[...this.tools.keys()].join(', ')})`);
    }
    const parsed = tool.inputSchema.safeParse(params ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.length === 0 ? 'params' : i.path.join('.')}: ${i.message}`);
      throw new ToolError('INVALID_INPUT', `invalid input for tool "${toolId}": ${issues.join('; ')}`);
    }
    return tool.run(parsed.data, signal);
  }
}
