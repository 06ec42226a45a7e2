import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicFile {
  /** Write here; end it before `commit`. */
  stream: WriteStream;
  /** Makes the written bytes durable and puts them at the path in one step (a rename). */
  commit(): Promise<void>;
  /** Removes what was written; the path keeps whatever it held before. */
  discard(): Promise<void>;
}

/**
 * A file that appears at `path` whole or not at all: written to a temporary file beside it (same directory,
 * hence same file system, so the rename is atomic), then renamed over it. A failed export leaves an existing
 * file untouched instead of truncated. The file is created 0600, whatever the one it replaces allowed.
 *
 * @example
 * const file = atomicFile('calls.csv');
 * try { await pipeline(source, file.stream); await file.commit(); } catch (e) { await file.discard(); throw e; }
 */
export function atomicFile(path: string): AtomicFile {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // Its owner's only (what an export holds: phone numbers, call data), as the database file is; with the
  // default mode it was 0644 under the usual umask, readable by every user of the machine.
  const stream = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  return {
    stream,
    async commit() {
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    },
    async discard() {
      // Once closed: the file may still be being opened, and must not appear after its removal.
      await new Promise<void>((resolve) => {
        if (stream.closed) return resolve();
        stream.once('close', () => resolve());
        stream.destroy();
      });
      await rm(temp, { force: true });
    },
  };
}
