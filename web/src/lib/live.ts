import type { SwitchboardEvent } from '../../../src/sdk/envelope.js';
import { subscribe, type StreamEvent, type Subscription } from '../../../src/sdk/subscribe.js';
import { api } from './api.js';
import { sessionStore } from './session.js';
import { createStore, useStore } from './store.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';
export interface LiveEvent {
  seq: number;
  type: string;
  envelope: SwitchboardEvent;
}

/** How many recent events the feed starts with (replayed from the log on connecting). */
export const recentSize = 50;
/** How many events the feed keeps (a busy minute of calls, each with its start and end). */
const keptSize = 200;

export const liveState = createStore<LiveState>('connecting');
/** The newest events, newest first. */
export const recentEvents = createStore<LiveEvent[]>([]);
/** The seq of the last event handled (null before the first). */
export const lastSeq = createStore<number | null>(null);

const listeners = new Set<(event: LiveEvent) => void>();
let subscription: Subscription | null = null;

/** Called for each event from now on; returns the unsubscribe. */
export function onLiveEvent(listener: (event: LiveEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function handle({ seq, type, envelope }: StreamEvent): void {
  const event = { seq, type, envelope };
  lastSeq.set(seq);
  recentEvents.set([event, ...recentEvents.get()].slice(0, keptSize));
  for (const listener of [...listeners]) listener(event);
}

/**
 * The tab's one stream connection (DASHBOARD.md "Live"), through the SDK's `subscribe`: it starts with the
 * last few events of the log (the feed's history) and resumes with `Last-Event-ID` after a drop, so the
 * events posted meanwhile arrive, none twice.
 */
export async function startLive(): Promise<void> {
  if (subscription) return;
  liveState.set('connecting');
  let since = 0;
  try {
    const newest = (await api.events.list({ limit: 1 })).data[0];
    since = Math.max(0, (newest?.seq ?? 0) - recentSize);
  } catch {
    // The stream itself reports what is wrong.
  }
  lastSeq.set(since);
  subscription = subscribe({
    baseUrl: location.origin,
    since,
    backoff: { baseMs: 250, maxMs: 5_000 },
    onEvent: handle,
    onConnect: () => liveState.set('live'),
    onError: (error, { fatal }) => {
      liveState.set(fatal ? 'stopped' : 'reconnecting');
      // The session ended (expired, signed out elsewhere, password changed): back to the login page.
      if (fatal && error.status === 401) {
        stopLive();
        sessionStore.set(null);
      }
    },
  });
}

export function stopLive(): void {
  subscription?.close();
  subscription = null;
  liveState.set('stopped');
  recentEvents.set([]);
}

export const useLiveState = () => useStore(liveState);
