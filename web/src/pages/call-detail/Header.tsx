import type { ComponentChildren } from 'preact';
import type { Call } from '../../../../src/sdk/client.js';
import { Status } from '../../components/Status.js';
import { asText, formatDateTime, formatDuration, formatSeconds } from '../../lib/format.js';
import { useZone } from '../../lib/zone.js';

/** Status and the key times of the call, as a definition list. */
export function Header({ call }: { call: Call }) {
  const zone = useZone();
  const rows: Array<[string, ComponentChildren]> = [
    ['Started', formatDateTime(call.started_at, zone)],
    ['Agent answered', formatDateTime(call.agent_answered_at, zone)],
    ['Lead answered', formatDateTime(call.lead_answered_at, zone)],
    ['Ended', formatDateTime(call.ended_at, zone)],
    ['Lead created', formatDateTime(call.lead_created_at, zone)],
    ['Speed to lead', formatSeconds(call.speed_to_lead_sec)],
    ['Time to connect', formatSeconds(call.time_to_connect_sec)],
    ['Talk time', formatDuration(call.talk_duration_sec)],
    ['Total duration', formatDuration(call.total_duration_sec)],
    ['Agent answer time', formatDuration(call.answer_duration_sec)],
    ['Lead answer time', formatDuration(call.lead_answer_duration_sec)],
    ['Disconnected by', asText(call.disconnected_by)],
    // The widget's name is Convolo's text: isolated, so an RTL override in it stays in it (not on the key after it).
    ['Widget', call.widget_name ? <><span class="text">{asText(call.widget_name)}</span> ({call.widget_key ?? '–'})</> : asText(call.widget_key)],
    ['Call time zone', asText(call.timezone)],
    ['Delayed call', call.is_delayed_call === null ? '–' : call.is_delayed_call ? 'yes' : 'no'],
    ['Source', call.source_id],
    ['Events', String(call.event_count)],
  ];
  return (
    <section class="panel" aria-labelledby="call-heading">
      <div class="call-head">
        <h2 id="call-heading" class="section-title">
          <span class="text">{call.call_id}</span>
        </h2>
        <Status status={call.status} />
      </div>
      <dl class="facts">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
