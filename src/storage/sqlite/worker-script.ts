import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A compiled worker script of this folder; tests that run from src/ (TypeScript) use the built copy in dist/. */
export function workerScript(name: string): URL {
  const beside = new URL(`./${name}`, import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL(`../../../dist/storage/sqlite/${name}`, import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('The SQLite threads need the compiled worker scripts: run `npm run build` first.');
}
