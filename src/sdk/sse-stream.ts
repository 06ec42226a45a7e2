import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * One connection's SSE messages, read from a `fetch` body with `eventsource-parser`. A body never ends
 * by itself while the server lives; this ends when it closes, errors, or stays silent longer than
 * `idleMs` (the server sends a heartbeat comment every 15 s, so silence means a dead connection that
 * TCP has not noticed, as after a network change).
 *
 * @example
 * for await (const message of sseMessages(response.body!, { idleMs: 45_000, abort: () => controller.abort() })) {
 *   console.log(message.id, message.event, message.data);
 * }
 */
export async function* sseMessages(
  body: ReadableStream<Uint8Array>,
  options: { idleMs: number; abort: () => void; onComment?: () => void },
): AsyncGenerator<EventSourceMessage, void, undefined> {
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => queue.push(message), onComment: () => options.onComment?.() });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const armIdleTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(options.abort, options.idleMs);
  };
  try {
    for (;;) {
      // Armed only while waiting for the server: a consumer may take its time with each message.
      armIdleTimer();
      const { value, done } = await reader.read();
      clearTimeout(timer);
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      // While the consumer handles these, nothing more is read: the socket's buffer holds the rest, and
      // the server's bound on it disconnects a consumer that falls too far behind (it resumes from the log).
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    clearTimeout(timer);
    // Cancelling releases the connection; a body that already failed rejects here, which is no news.
    await reader.cancel().catch(() => {});
  }
}
