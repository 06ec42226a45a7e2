import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Server-Sent Events on the wire (https://html.spec.whatwg.org/multipage/server-sent-events.html), and the
 * two write rules every stream client gets: a bounded buffer, and an end that never waits on a slow reader.
 */

/** A line break of any of the three kinds the SSE parser recognises. */
const lineBreak = /\r\n|\r|\n/;
const lineBreaks = /[\r\n]/g;

/**
 * One event as SSE text (without `id` for a frame that leaves the client's cursor where it is). A line break inside `id` or `event` would end the field early and let the rest be
 * read as another field, so they are replaced by spaces (the envelope in `data` still carries the exact
 * type). `data` may hold raw line breaks (a Convolo body spliced verbatim, pretty-printed): each line gets
 * its own `data:` field and the client joins them with "\n". JSON cannot have a raw line break inside a
 * string, so only whitespace between tokens changes ("\r\n" arrives as "\n").
 *
 * @example
 * sseFrame({ id: 42, event: 'call.ended', data: '{"a":\n1}' });
 * // 'id: 42\nevent: call.ended\ndata: {"a":\ndata: 1}\n\n'
 */
export function sseFrame(frame: { id?: number | string; event: string; data: string }): string {
  const data = frame.data.split(lineBreak).map((line) => `data: ${line}\n`).join('');
  // Without an id (the stream's pruned gap frame), the client's last event id stays what it was.
  const id = frame.id === undefined ? '' : `id: ${oneLine(String(frame.id))}\n`;
  return `${id}event: ${oneLine(frame.event)}\n${data}\n`;
}

/**
 * A comment line: clients ignore it, proxies and load balancers see traffic.
 *
 * @example
 * sseComment('heartbeat'); // ': heartbeat\n\n'
 */
export function sseComment(text: string): string {
  return `: ${oneLine(text)}\n\n`;
}

function oneLine(text: string): string {
  return text.replace(lineBreaks, ' ');
}

/**
 * Writes without ever waiting: the socket's own buffer is the client's queue, and a client whose queue
 * holds more than `maxBufferBytes` is disconnected instead of being given more (it resumes from the log
 * with Last-Event-ID when it reconnects), so a reader that stopped reading can neither slow the others nor
 * hold memory. The backlog is judged before the write, not after it: one event can be as large as the
 * ingest body limit plus its call record, larger than the default bound, and a healthy client must not be
 * dropped for receiving it. Memory per client stays under `maxBufferBytes` plus one frame.
 * False when the client is gone or was just dropped.
 *
 * @example
 * if (!writeBounded(reply.raw, sseComment('heartbeat'), 1 << 20)) clearInterval(timer);
 */
export function writeBounded(out: Writable, chunk: string | Buffer, maxBufferBytes: number): boolean {
  if (!isOpen(out)) return false;
  if (out.writableLength > maxBufferBytes) {
    out.destroy();
    return false;
  }
  out.write(chunk);
  return true;
}

export function isOpen(out: Writable): boolean {
  return !out.destroyed && !out.writableEnded;
}

/** Resolves true when `out` can take more, false when it closed first. */
export function drained(out: Writable): Promise<boolean> {
  if (!isOpen(out)) return Promise.resolve(false);
  return firstOf([out, 'drain'], [out, 'close']);
}

/**
 * Resolves true when `wanted` happens, false when `ending` happens first; each an emitter and its event, whose
 * listeners are taken off as it resolves.
 *
 * @example
 * await firstOf([res, 'socket'], [connection, 'close']); // false: the connection closed before res had it
 */
export function firstOf(wanted: [EventEmitter, string], ending: [EventEmitter, string]): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      wanted[0].off(wanted[1], onWanted);
      ending[0].off(ending[1], onEnding);
      resolve(ok);
    };
    const onWanted = done(true);
    const onEnding = done(false);
    wanted[0].once(wanted[1], onWanted);
    ending[0].once(ending[1], onEnding);
  });
}

/** Resolves once `out` has closed (at once if it already has). */
export function closed(out: Writable): Promise<void> {
  if (out.closed) return Promise.resolve();
  return new Promise((resolve) => out.once('close', () => resolve()));
}

/**
 * Ends a stream for a shutdown: a clean end when everything written has left the process, else (a client
 * that is behind) at once, so closing never waits on a reader. `graceMs` bounds the clean end too.
 *
 * @example
 * await Promise.all([...responses].map((res) => endStream(res, 1000)));
 */
export async function endStream(out: Writable, graceMs: number): Promise<void> {
  if (out.writableLength > 0) out.destroy();
  else if (!out.writableEnded) out.end();
  const timer = setTimeout(() => out.destroy(), graceMs);
  timer.unref();
  await closed(out);
  clearTimeout(timer);
}
