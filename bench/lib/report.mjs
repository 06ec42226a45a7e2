// What every benchmark part prints alongside its numbers: number formatting, the commit measured, the
// file system of the temp dir, and how busy the machine was before a row.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { busyCores } from './procfs.mjs';
import { REPO_ROOT, redactUrl } from './servers.mjs';

export const CPUS = os.availableParallelism?.() ?? os.cpus().length;
/** Above this many cores busy with other work, a row is marked as measured on a noisy machine. */
export const NOISY_CORES = 0.25;

export const mb = (kb) => (kb == null ? null : kb / 1024);
export const fmt = (n, digits = 0) => (n == null || Number.isNaN(n) ? '—' : n.toFixed(digits));

export function fsTypeOf(dir) {
  try {
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount) continue;
      const m = mount.replace(/\\040/g, ' ');
      if ((dir === m || dir.startsWith(m.endsWith('/') ? m : `${m}/`)) && m.length >= best.mount.length) {
        best = { mount: m, type };
      }
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

export function gitDescribe() {
  try {
    const git = (...args) =>
      execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const sha = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no');
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

/**
 * The machine's other work competes with the server and the load for the same cores: before each row, wait
 * (up to `waitMs`) until less than NOISY_CORES cores are busy. Returns the last reading.
 */
export async function waitForQuiet(label, { log, waitMs }) {
  const started = Date.now();
  let busy = await busyCores(500, CPUS);
  if (busy <= NOISY_CORES) return busy;
  log(`${label}: ${fmt(busy, 2)} cores busy with other work; waiting up to ${waitMs / 1000} s for the machine to be idle`);
  while (busy > NOISY_CORES && Date.now() - started < waitMs) busy = await busyCores(1000, CPUS);
  if (busy > NOISY_CORES) log(`${label}: still ${fmt(busy, 2)} cores busy; going on (the row is marked)`);
  return busy;
}

/** The markdown report on stdout and in `file` (bench/results/<part>-latest.md). */
export async function writeResults(file, md, log) {
  process.stdout.write(`\n${md}`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, md);
  log(`written to ${path.relative(process.cwd(), file) || file}`);
}

/** Lines for the report when databases were made on a server the harness does not own. */
export function pgCreatedNote(pg) {
  if (!pg?.external || pg.created.length === 0) return [];
  return ['', `Databases created on the SWITCHBOARD_BENCH_PG_URL server (not dropped): ${pg.created.map(redactUrl).join(', ')}`];
}
