import { Readable, type Writable } from 'node:stream';
import { drained } from '../relay/sse.js';

/** A piece of a response body; `sent`, if given, is called once the socket has taken all of its bytes. */
export interface BodyChunk {
  bytes: Uint8Array;
  sent?: () => void;
}

/**
 * A streamed response body whose chunks say when they have been sent, so that their memory can be used again.
 *
 * Fastify answers a stream payload with `payload.pipe(res)`, after its onSend hooks. This stream's `pipe`
 * writes the chunks itself, each with a write callback, and waits for `drain` when the socket is full. Memory a
 * reader thread moved here is otherwise freed only by the main thread's next full collection, which V8 starts
 * after ~64 MB of such memory: an export of 1M calls held ~40 MB of sent pages that way (docs/benchmarks.md).
 * A client that leaves ends it: Fastify destroys the payload, which stops asking for chunks.
 */
export class CallbackBody extends Readable {
  readonly #chunks: AsyncIterator<BodyChunk>;

  constructor(chunks: AsyncIterable<BodyChunk>) {
    super();
    this.#chunks = chunks[Symbol.asyncIterator]();
  }

  override _read(): void {
    // Nothing is read through the stream: `pipe` writes the chunks.
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    void this.#send(destination as unknown as Writable);
    return destination;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The iterator finishes the chunk it is making, then stops (a generator's `finally` runs).
    this.#chunks.return?.().catch(() => {});
    callback(error);
  }

  async #send(out: Writable): Promise<void> {
    // The next chunk is asked for as soon as one is written, so it is made while that one goes out.
    let next = this.#chunks.next();
    try {
      for (;;) {
        const { done, value } = await next;
        if (done || this.destroyed) break;
        const { bytes, sent } = value;
        // An error means the bytes may not have left: their memory is then left to the collector.
        const room = out.write(bytes, (error?: Error | null) => {
          if (!error) sent?.();
        });
        next = this.#chunks.next();
        if (!room && !(await drained(out))) {
          // The client left: what the iterator still makes is dropped (Fastify destroys this stream).
          next.catch(() => {});
          return;
        }
      }
      if (this.destroyed) return;
      out.end();
      // Ends this stream too, so Fastify sees it finish.
      this.push(null);
      this.resume();
    } catch (error) {
      this.destroy(error as Error);
    }
  }
}
