#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so the command works straight from the workspace.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
