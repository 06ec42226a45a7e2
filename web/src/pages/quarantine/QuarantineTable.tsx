import type { EventSummary } from '../../../../src/sdk/client.js';
import { SkeletonRows } from '../../components/Skeleton.js';
import { TableHead } from '../../components/TableHead.js';
import { When } from '../../components/When.js';
import { formatBytes } from './bytes.js';
import { ReprocessButton } from './ReprocessButton.js';
import { State } from './State.js';
import type { QuarantineState } from './useQuarantine.js';

/** Only a record kept whole and not reprocessed yet can be reprocessed (the API answers 409 otherwise). */
export const reprocessable = (e: Pick<EventSummary, 'status' | 'reprocessed_into' | 'body_truncated'>) => e.status === 'quarantined' && !e.reprocessed_into && !e.body_truncated;

/** An error code that may wrap after its underscores (`payload_ / too_ / large`) on a narrow screen. */
const breakable = (code: string) => code.split('_').flatMap((part, i) => (i === 0 ? [part] : [<wbr key={i} />, `_${part}`]));

export const detailHref = (id: string) => `/quarantine?id=${encodeURIComponent(id)}`;

/** The records: received (opens the detail), source, error with its detail, size, state; admins get Reprocess. */
export function QuarantineTable({ q, isAdmin, now, openId }: { q: QuarantineState; isAdmin: boolean; now: number; openId: string | null }) {
  const columns = ['Received', { label: 'Source', narrow: true }, 'Error', { label: 'Size', num: true, narrow: true }, 'State'];
  return (
    <div class="table-wrap">
      <table class="table q-table" data-table="quarantine">
        <caption class="visually-hidden">Quarantined requests, newest first</caption>
        <TableHead columns={isAdmin ? [...columns, { label: 'Action', narrow: true }] : columns} />
        <tbody>
          {q.rows === null && <SkeletonRows rows={6} cols={isAdmin ? 6 : 5} />}
          {q.rows?.map((e: EventSummary) => (
            <tr key={e.id} data-record={e.id} class={openId === e.id ? 'q-open' : undefined}>
              <td class="nowrap">
                <a href={detailHref(e.id)} aria-current={openId === e.id ? 'true' : undefined}>
                  <When at={e.received_at} now={now} />
                  <span class="visually-hidden">, request {e.id}</span>
                </a>
              </td>
              <td class="clip hide-narrow" title={e.source_id}>
                <span class="text">{e.source_name ?? e.source_id}</span>
              </td>
              <td class="q-error" title={e.error_detail ?? undefined}>
                <code>{breakable(e.error ?? '–')}</code>
                {e.error_detail && <span class="q-detail small muted text">{e.error_detail}</span>}
              </td>
              <td class="num hide-narrow">{formatBytes(e.body_size)}</td>
              <td>
                <State record={e} outcome={q.outcomes.get(e.id)} />
              </td>
              {isAdmin && (
                <td class="hide-narrow">{reprocessable(e) && <ReprocessButton id={e.id} reprocess={q.reprocess} compact />}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
