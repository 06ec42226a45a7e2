import type { EventLog } from '../storage/ports.js';

// Placeholder: being written (the SSE fan-out that tails the event log).
export interface StreamHub {
  /** Begins tailing the log from its current end. */
  start(): Promise<void>;
  /** New events may be in the log (a local commit, or another node's NOTIFY). */
  wake(): void;
  /** Connected stream clients. */
  readonly clients: number;
  /** Ends every client stream and stops tailing. */
  close(): Promise<void>;
}

export function createStreamHub(_options: { events: EventLog; pollMs: number; onError?: (error: unknown) => void }): StreamHub {
  return { start: async () => {}, wake: () => {}, clients: 0, close: async () => {} };
}
