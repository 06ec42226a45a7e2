import { useLiveState } from '../lib/live.js';

const labels = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', stopped: 'stopped' } as const;

/** The stream's state, as text with a dot (role=status: a screen reader hears it change). */
export function LiveIndicator() {
  const state = useLiveState();
  return (
    <span class={`live live-${state}`} role="status" data-live={state}>
      <span class="dot" aria-hidden="true" />
      {labels[state]}
    </span>
  );
}
