import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A compiled worker script of the storage folder (`sqlite/sql-worker.js`, `postgres/read-worker.js`); tests
 * that run from src/ (TypeScript) use the built copy in dist/.
 */
export function workerScript(path: string): URL {
  const beside = new URL(`../${path}`, import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL(`../../../dist/storage/${path}`, import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('The storage threads need the compiled worker scripts: run `npm run build` first.');
}
