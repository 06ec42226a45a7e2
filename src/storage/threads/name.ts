import { readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** This thread's id on Linux (/proc/thread-self names it), or null elsewhere. */
export function threadId(): number | null {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
}

/**
 * Names this thread (Linux, at most 15 characters), so `top -H`, `ps -L` and the benchmarks tell the storage
 * threads apart; elsewhere, nothing.
 */
export function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or not allowed
  }
}

/**
 * Lowers this thread's priority to `nice` (Linux: a thread has a nice value of its own, and /proc/thread-self
 * names its id): a thread that yields lets the ingest's threads have the cores when both want them, where two
 * heavy reads would otherwise take both cores of a small machine. Elsewhere (no /proc), or not allowed, the
 * thread runs as the process.
 */
export function niceThread(nice: number): void {
  const tid = threadId();
  if (nice <= 0 || tid === null) return;
  try {
    setPriority(tid, nice);
  } catch {
    // not allowed: the thread competes as an equal
  }
}
