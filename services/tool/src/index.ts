/**
 * `@multi-agent/tool-service`: request/reply tools (calculator, clock, JSON path) on core
 * NATS, and the tool nodes of workflows.
 *
 * @packageDocumentation
 */
export { startToolService, toolDefaults } from './tool-service.js';
export type { ToolServiceOptions } from './tool-service.js';
export { builtinTools, defineTool, ToolRegistry } from './tools/registry.js';
export type { BuiltinToolOptions, ToolDefinition } from './tools/registry.js';
export { ToolError } from './tools/tool-error.js';
export type { ToolErrorCode } from './tools/tool-error.js';
export { CALCULATOR_LIMITS, evaluate } from './tools/calculator.js';
export { clock } from './tools/clock.js';
export { JSON_PATH_LIMITS, jsonPath, parseJsonPath } from './tools/json-path.js';
