import type { Call } from '../../../../src/sdk/client.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { Status } from '../../components/Status.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { asText, formatDuration, formatPhone, formatSeconds } from '../../lib/format.js';
import { leadName, leadPhone } from '../../lib/lead.js';

export function callHref(call: Pick<Call, 'call_id' | 'source_id'>): string {
  return `/calls/${encodeURIComponent(call.call_id)}?source_id=${encodeURIComponent(call.source_id)}`;
}


/** The calls table: started, lead, phone, widget, agent, status, speed to lead, talk time. */
/** `rows` null: loading (skeleton rows), unless `failed` (the read was refused: its error is shown above, nothing is loading). */
export function CallTable({ rows, fresh, now, failed = false }: { rows: Call[] | null; fresh: Set<string>; now: number; failed?: boolean }) {
  return (
    <div class="table-wrap">
      <table class="table calls-table" data-table="calls">
        <TableHead
          columns={[
            'Started', 'Lead', 'Phone', { label: 'Widget', narrow: true }, { label: 'Agent', narrow: true }, 'Status',
            { label: 'Speed to lead', num: true }, { label: 'Talk', num: true, narrow: true },
          ]}
        />
        <tbody>
          {rows === null && !failed && <SkeletonRows rows={8} cols={8} />}
          {rows?.map((call) => {
            const key = `${call.source_id}/${call.call_id}`;
            return (
              <tr key={key} class={fresh.has(key) ? 'fade-in' : undefined} data-call={call.call_id}>
                <td class="nowrap">
                  <a href={callHref(call)} title={`Call ${call.call_id}`}>
                    <When at={call.started_at ?? call.first_event_at} now={now} />
                  </a>
                </td>
                <td class="clip">{leadName(call) ?? '–'}</td>
                <td class="nowrap">{formatPhone(leadPhone(call))}</td>
                <td class="clip hide-narrow">{asText(call.widget_name ?? call.widget_key)}</td>
                <td class="clip hide-narrow">{asText(call.agent?.name ?? null)}</td>
                <td>
                  <Status status={call.status} />
                </td>
                <td class="num">{formatSeconds(call.speed_to_lead_sec)}</td>
                <td class="num hide-narrow">{formatDuration(call.talk_duration_sec)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
