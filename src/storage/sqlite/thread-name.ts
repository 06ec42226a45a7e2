import { readlinkSync, writeFileSync } from 'node:fs';

/** This thread's id on Linux (/proc/thread-self names it), or null elsewhere. */
export function threadId(): number | null {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
}

/**
 * Names this thread (Linux, at most 15 characters), so `top -H`, `ps -L` and the benchmarks tell the SQLite
 * threads apart; elsewhere, nothing.
 */
export function nameThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or not allowed
  }
}
