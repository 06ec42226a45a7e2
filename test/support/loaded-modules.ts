import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Runs `script` (an ES module body) in a fresh node process and answers its output and every module file
 * it loaded. ESM resolutions go through a module hook (it runs on its own thread, so it appends to a file);
 * CommonJS `require`s inside packages do not reach that hook in Node 20, so Module._resolveFilename is
 * watched too.
 */
export function modulesLoadedBy(script: string, cwd: string): { output: string; loaded: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'sb-load-'));
  const log = join(dir, 'loaded.txt');
  writeFileSync(log, '');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
     let log;
     export function initialize(data) { log = data.log; }
     export async function resolve(specifier, context, next) {
       const result = await next(specifier, context);
       appendFileSync(log, result.url + '\\n');
       return result;
     }`,
  );
  writeFileSync(
    join(dir, 'record.cjs'),
    `const Module = require('node:module');
     const { appendFileSync } = require('node:fs');
     const log = ${JSON.stringify(log)};
     const resolveFilename = Module._resolveFilename;
     Module._resolveFilename = function (...args) {
       const file = resolveFilename.apply(this, args);
       appendFileSync(log, file + '\\n');
       return file;
     };
     Module.register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { log } });`,
  );
  const output = execFileSync(process.execPath, ['--require', join(dir, 'record.cjs'), '--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
  return { output, loaded: [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))] };
}
