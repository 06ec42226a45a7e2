import type { Call } from '../../../../src/sdk/client.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { TableHead } from '../../components/TableHead.js';
import { formatDuration, formatPhone } from '../../lib/format.js';
import { leadName, leadPhone } from '../../lib/lead.js';
import { useNow } from '../../lib/useNow.js';
import { callHref } from '../calls/CallTable.js';

function phase(call: Call): string {
  return call.lead_answered_at ? 'talking' : call.agent_answered_at ? 'calling lead' : 'ringing';
}

const who = (call: Call) => leadName(call) ?? formatPhone(leadPhone(call));

/** Calls in progress with a running timer; each row opens the call. */
export function InProgress({ calls, error }: { calls: Call[] | null; error: unknown }) {
  const now = useNow();
  return (
    <section class="panel" aria-labelledby="progress-heading">
      <h2 id="progress-heading" class="section-title">
        In progress <span class="count">{calls ? `(${calls.length})` : ''}</span>
      </h2>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="table" data-table="in-progress">
          <TableHead columns={['State', 'Lead', { label: 'Time', num: true }]} />
          <tbody>
            {calls === null && <SkeletonRows rows={3} cols={3} />}
            {calls?.length === 0 && (
              <tr>
                <td colSpan={3} class="muted">
                  No call in progress.
                </td>
              </tr>
            )}
            {calls?.map((call) => {
              const since = Date.parse(call.started_at ?? call.first_event_at);
              return (
                <tr key={`${call.source_id}/${call.call_id}`} class="fade-in" data-call={call.call_id}>
                  <td>
                    <span class="status status-progress">{phase(call)}</span>
                  </td>
                  <td class="clip">
                    <a href={callHref(call)}>{who(call)}</a>
                  </td>
                  <td class="num">{formatDuration((now - since) / 1000)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
