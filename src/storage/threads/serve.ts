import type { MessagePort } from 'node:worker_threads';
import type { CsvPage } from '../ports.js';

/** A storage thread's side of the protocol in client.ts. */
export type ReplyError = { message: string; code?: string };

/** The answer to a request that failed, as the client rejects it (with the error's code, if any: storage/errors.ts reads it). */
export function errorReply(id: number, error: unknown): { id: number; error: ReplyError } {
  const e = error as Error & { code?: unknown };
  return { id, error: { message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) } };
}

/** Posts a reply, an export page's or a stats answer's bytes moved rather than copied (the main thread only writes them out). */
export function postReply(port: MessagePort, reply: { id: number; csv?: CsvPage; json?: Uint8Array }): void {
  const moved = reply.csv ? reply.csv.bytes.buffer : reply.json ? reply.json.buffer : null;
  port.postMessage(reply, moved ? [moved as ArrayBuffer] : []);
}
