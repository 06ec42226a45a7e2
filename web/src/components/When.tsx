import { formatDateTime, formatWhen } from '../lib/format.js';
import { useZone } from '../lib/zone.js';

/** A time, relative when recent, with the exact time in the zone as its title. */
export function When({ at, now }: { at: string | null | undefined; now?: number }) {
  const zone = useZone();
  if (!at) return <span>–</span>;
  return (
    <time dateTime={at} title={formatDateTime(at, zone)}>
      {formatWhen(at, zone, now)}
    </time>
  );
}
