import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each test file took in a full run (`node scripts/test-durations.mjs <report.json>` writes it from
 * `vitest run --reporter=json --outputFile=…`). A file it does not list counts as `unlistedSeconds`.
 */
const durations = JSON.parse(readFileSync(new URL('./test/file-durations.json', import.meta.url), 'utf8')) as Record<string, number>;
const unlistedSeconds = 15;

/**
 * Longest files first, so that both workers end together instead of one running a slow file alone at the
 * end (vitest's own order on a clean clone, without its results cache, is by file size: a short file can be
 * a slow one). Ties keep vitest's order.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (file: TestSpecification) => durations[relative(root, file.moduleId)] ?? unlistedSeconds;
    return (await super.sort(files)).sort((a, b) => seconds(b) - seconds(a));
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/process-state.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The files of a worker share its process and its loaded modules: a new process per file spent ~0.7 s
    // importing the app's modules again (108 s of a run's 699, and 12-17 % of its CPU). Files do not share
    // state: each builds its servers over databases of its own and closes them in its hooks, and the process's
    // own switches are reset before each file (test/support/process-state.ts).
    isolate: false,
    // vitest's default is one worker fewer than the cores: on CI's 2 cores, one file at a time. Most files
    // spend much of their time waiting (fsync, PostgreSQL, Chromium, child processes, timers): two at a time
    // took 22–38 % off the same files' run on a busy 2-core machine.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: LongestFirst },
  },
});
