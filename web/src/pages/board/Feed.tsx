import { Status } from '../../components/Status.js';
import { TableHead } from '../../components/TableHead.js';
import { recentEvents } from '../../lib/live.js';
import { asText, formatClock, formatDateTime, formatPhone } from '../../lib/format.js';
import { leadName, leadPhone } from '../../lib/lead.js';
import { useStore } from '../../lib/store.js';
import { useZone } from '../../lib/zone.js';

/** The latest events of the stream, newest first: type, call, outcome, agent; each row opens its call. */
export function Feed() {
  const events = useStore(recentEvents);
  const zone = useZone();
  return (
    <section class="panel" aria-labelledby="feed-heading">
      <h2 id="feed-heading" class="section-title">
        Latest events
      </h2>
      <div class="table-wrap feed">
        <table class="table" data-table="feed">
          <TableHead columns={['Time', { label: 'Event', narrow: true }, 'Lead', 'Outcome', { label: 'Agent', narrow: true }]} />
          <tbody>
            {events.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  No events yet. They appear here as Convolo sends them.
                </td>
              </tr>
            )}
            {events.map(({ seq, type, envelope }) => (
              <tr key={seq} class="fade-in" data-seq={seq} data-call={envelope.call_id ?? ''}>
                <td class="nowrap">
                  <time dateTime={envelope.created_at} title={formatDateTime(envelope.created_at, zone)}>
                    {formatClock(envelope.created_at, zone)}
                  </time>
                </td>
                <td class="hide-narrow">{type}</td>
                <td class="clip">
                  {envelope.call_id ? (
                    <a href={`/calls/${encodeURIComponent(envelope.call_id)}?source_id=${encodeURIComponent(envelope.source_id ?? '')}`} title={`Call ${envelope.call_id}`}>
                      {(envelope.call && (leadName(envelope.call) ?? formatPhone(leadPhone(envelope.call)))) || envelope.call_id}
                    </a>
                  ) : (
                    '–'
                  )}
                </td>
                <td>{envelope.call ? <Status status={envelope.call.status} /> : '–'}</td>
                <td class="clip hide-narrow">{asText(envelope.call?.agent?.name ?? null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
