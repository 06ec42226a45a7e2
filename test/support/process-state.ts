// vitest setupFiles: runs before each test file. The files of a worker share its process (vitest.config.ts,
// `isolate: false`), so the few switches that are the process's own start each file as a new process has them:
// a file that crashes PostgreSQL under its connections turns preparing off for the process, and the next file
// would test the unprepared path without saying so.
import { appendTestHooks } from '../../src/storage/postgres/append.js';
import { preparing } from '../../src/storage/postgres/prepared.js';
import { sequencerTestHooks } from '../../src/storage/postgres/sequencer.js';

preparing.on = true;
appendTestHooks.afterInsert = null;
sequencerTestHooks.ignoreWatermark = false;
