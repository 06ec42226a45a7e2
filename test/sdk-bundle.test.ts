import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { modulesLoadedBy } from './support/loaded-modules.js';

/**
 * `switchboard/sdk` must load no server code (SPEC "SDK"): a receiver's app bundles it, and pulling in
 * Fastify or a database driver would bloat it or break it on runtimes without native modules.
 * Two independent checks: what a bundler takes in, and what Node actually loads.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const serverDirs = ['src/storage/', 'src/api/', 'src/ingest/', 'src/relay/', 'src/app', 'src/cli/', 'src/config/', 'src/admin/', 'src/observability/'];
const serverPackages = ['fastify', 'better-sqlite3', 'pg', 'kysely', 'pino', 'prom-client', 'undici', '@fastify/'];

function serverModulesIn(paths: string[], dirs = serverDirs): string[] {
  return paths.filter(
    (p) => dirs.some((dir) => p.includes(dir)) || serverPackages.some((name) => p.includes(`node_modules/${name}${name.endsWith('/') ? '' : '/'}`)),
  );
}

describe('the SDK bundle', () => {
  it("takes in no server module and no server package (esbuild's metafile)", async () => {
    const result = await build({
      entryPoints: [join(root, 'src/sdk/index.ts')],
      absWorkingDir: root,
      platform: 'node',
      format: 'esm',
      bundle: true,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    // The check sees what it should: the SDK's own files and the libraries it does use.
    expect(inputs).toContain('src/sdk/verify.ts');
    expect(inputs.some((p) => p.includes('node_modules/standardwebhooks/'))).toBe(true);
    expect(serverModulesIn(inputs)).toEqual([]);
    // And it would see a server module if one crept in.
    expect(serverModulesIn(['src/relay/signing.ts', 'node_modules/pg/lib/index.js'])).toHaveLength(2);
  });

  it('bundles for the browser and edge runtimes: no Node built-in is needed at run time (node.ts imports node:http for types only)', async () => {
    const result = await build({
      entryPoints: [join(root, 'src/sdk/index.ts')],
      absWorkingDir: root,
      platform: 'browser',
      format: 'esm',
      bundle: true,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imports.filter((path) => path.startsWith('node:'))).toEqual([]);
  });

  it('loads no server module or package when Node imports dist/sdk/index.js', () => {
    const entry = pathToFileURL(join(root, 'dist/sdk/index.js')).href;
    const { output: exported, loaded } = modulesLoadedBy(`const sdk = await import(${JSON.stringify(entry)}); console.log(Object.keys(sdk).join(','))`, root);
    expect(exported.trim().split(',')).toEqual(expect.arrayContaining(['verifyWebhook', 'createHandler', 'toNodeListener', 'ConvoloClient']));
    // Both recorders work: an ESM file of ours, and a CommonJS file only reachable by require.
    expect(loaded.some((p) => p.endsWith('/dist/sdk/verify.js'))).toBe(true);
    expect(loaded.some((p) => p.includes('node_modules/fast-sha256/'))).toBe(true);
    const distDirs = serverDirs.map((dir) => dir.replace(/^src\//, 'dist/'));
    expect(serverModulesIn(loaded, distDirs)).toEqual([]);
  });
});
