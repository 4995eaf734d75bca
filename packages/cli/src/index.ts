/**
 * `@multi-agent/cli`: the `multi-agent` command, the flow reconstruction it uses, and the
 * platform's contracts (event JSON Schemas, the AsyncAPI document).
 *
 * @packageDocumentation
 */
export { buildProgram, ExitCode, main } from './main.js';
export { causationTree, readFlow, renderTree } from './trace.js';
export type { TraceNode } from './trace.js';
export type { Io } from './output.js';
export { messageContracts, jsonSchemaOf, addressPattern } from './contracts/messages.js';
export type { MessageContract, MessageKind } from './contracts/messages.js';
export { asyncApiDocument, ContractError } from './contracts/asyncapi.js';
export type { AccessDeclaration } from './contracts/asyncapi.js';
export { ASYNCAPI_FILE, SCHEMA_DIR, contractFiles, writeContracts } from './contracts/write.js';
export { consumerFinding, diagnose } from './doctor.js';
export { envFileOf, parseEnvFile } from './auth/keys.js';
export { authGenerate } from './commands/auth.js';
export type { AuthGenerateOptions } from './commands/auth.js';
export { permissionsTable } from './auth/table.js';
export { provisionTopology } from './provision.js';
export type { ProvisionReport } from './provision.js';
export type { DiagnoseOptions, DoctorReport, Finding, FindingStatus } from './doctor.js';
