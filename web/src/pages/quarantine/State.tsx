import type { EventSummary } from '../../../../src/sdk/client.js';
import { callHref } from '../calls/CallTable.js';
import type { Outcome } from './useQuarantine.js';

/**
 * What a record is now: quarantined, reprocessed into an event (a link to its call), or still refused by
 * today's parser (the code and detail a reprocess answered this session). Always a text label.
 */
export function State({ record, outcome }: { record: EventSummary; outcome: Outcome | undefined }) {
  if (record.reprocessed_into) {
    const callId = record.reprocessed_call_id;
    return (
      <span class="q-state" data-state="reprocessed">
        <span class="status status-ok">reprocessed</span>{' '}
        <span class="small">
          <span class="q-into">
            into <code>{record.reprocessed_into}</code>
            {outcome?.kind === 'reprocessed' && outcome.duplicate && ' (already stored)'}
            {callId && ' · '}
          </span>
          {callId && (
            <a href={callHref({ call_id: callId, source_id: record.source_id })} data-call-link={callId} title={`Event ${record.reprocessed_into}`}>
              call <span class="text">{callId}</span>
            </a>
          )}
        </span>
      </span>
    );
  }
  if (outcome?.kind === 'refused') {
    return (
      <span class="q-state" data-state="refused">
        <span class="status status-bad">still refused</span> <code>{outcome.code}</code>
        {outcome.detail && (outcome.code !== record.error || outcome.detail !== record.error_detail) && <span class="small text q-why" title={outcome.detail}>{outcome.detail}</span>}
      </span>
    );
  }
  return (
    <span class="q-state" data-state="quarantined">
      <span class="status status-pending">quarantined</span>
    </span>
  );
}
