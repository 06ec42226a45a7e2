import v8 from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';

/**
 * Resource limits for a storage worker thread whose young generation must stay `youngMb` megabytes.
 *
 * Switchboard's process starts with `--max-semi-space-size` (src/cli/index.ts) to size the main thread's
 * heap, and V8 applies that flag to every isolate it creates afterwards, over the `resourceLimits` a Worker
 * asks for: with it the writer's young generation grew to 32 MB instead of 8 (measured, issue 15). The main
 * isolate sized its heap when it started, so clearing the flag now changes only the isolates still to come.
 */
export function workerHeapLimits(youngMb: number): ResourceLimits {
  v8.setFlagsFromString('--max-semi-space-size=0');
  return { maxYoungGenerationSizeMb: youngMb };
}
