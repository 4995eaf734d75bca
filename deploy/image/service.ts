/**
 * The container's entry point (`node --import tsx service.ts`): starts the service that
 * `SERVICE` names from the installed packages. Node is the process that receives SIGTERM
 * (tini forwards it), and each service drains on it.
 */
const SERVICES = ['gateway', 'orchestration', 'agent', 'tool', 'model'];

const name = process.env.SERVICE?.trim() ?? '';
if (!SERVICES.includes(name)) {
  console.error(`SERVICE must be one of ${SERVICES.join(', ')}; got "${name}"`);
  process.exit(64);
}
// The process entry is not part of the package's exports: load it by path.
await import(new URL(`./node_modules/@multi-agent/${name}-service/src/main.ts`, import.meta.url).href);
