import type { EventSummary } from '../../../../src/sdk/client.js';
import { formatDateTime, formatNumber } from '../../lib/format.js';
import { useZone } from '../../lib/zone.js';
import { RawPayload } from './RawPayload.js';

/** The call's events, oldest first: received time, type, a revision mark, a reconcile mark (webhook never delivered), and the raw payload. */
export function Timeline({ events }: { events: EventSummary[] }) {
  const zone = useZone();
  const seenTypes = new Map<string, number>();
  return (
    <section class="panel" aria-labelledby="timeline-heading">
      <h2 id="timeline-heading" class="section-title">
        Timeline
      </h2>
      <ol class="timeline">
        {events.map((event) => {
          const n = (seenTypes.get(event.type ?? '') ?? 0) + 1;
          seenTypes.set(event.type ?? '', n);
          return (
            <li key={event.id} data-event={event.id}>
              <div class="timeline-head">
                <time dateTime={event.received_at}>{formatDateTime(event.received_at, zone)}</time>
                <strong class="text">{event.type ?? '(no type)'}</strong>
                {event.origin === 'reconcile' && (
                  <span class="mark" data-origin="reconcile" title="Convolo never delivered this webhook: Switchboard fetched it from Convolo's call list (reconciliation).">
                    fetched by reconcile
                  </span>
                )}
                {n > 1 && (
                  <span class="mark" title="The same event type for this call with a different body: the call was updated with it.">
                    revision {n}
                  </span>
                )}
                <span class="muted small">
                  {event.id} · seq {event.seq} · {formatNumber(event.body_size)} bytes
                </span>
              </div>
              <RawPayload eventId={event.id} />
            </li>
          );
        })}
      </ol>
    </section>
  );
}
