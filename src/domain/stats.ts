/**
 * Call statistics, pure: time-zone bucketing, quantiles and the per-bucket aggregate behind `GET /v1/stats`.
 *
 * Decisions (also in the route's OpenAPI description):
 * - A call's time is `started_at` when known, else `first_event_at` (the storage filters on the same).
 * - `hour` buckets are keyed by the instant the local hour starts, labelled in ISO with the zone's offset
 *   at that instant, so a fall-back day has 25 buckets (02:00+02:00 and 02:00+01:00 in Europe/Stockholm)
 *   and a spring-forward day 23. `day` buckets are the local calendar date `YYYY-MM-DD`.
 * - Quantiles interpolate linearly between the closest ranks (PostgreSQL's `percentile_cont`, numpy's
 *   default): the median of an even count is the mean of the two middle values.
 * - `answer_rate` = answered / calls (every call in the bucket, whatever its status); null for no calls.
 *   `talk_time_mean_sec` is over answered calls that have a talk duration; speed-to-lead quantiles over
 *   calls that have one.
 */

export const statsGroupBys = ['hour', 'day', 'widget', 'agent', 'source'] as const;
export type StatsGroupBy = (typeof statsGroupBys)[number];

/** What the aggregate needs of one call. */
export interface StatsCall {
  time: number;
  status: string;
  widget_key: string | null;
  widget_name: string | null;
  agent_id: string | null;
  agent_name: string | null;
  source_id: string;
  speed_to_lead_sec: number | null;
  talk_duration_sec: number | null;
}

/**
 * Partial aggregates over the calls of one 15-minute UTC slot (`hour`, `day`: `slot` is
 * floor(time / 15 min), `key` null) or of one group (`widget`, `agent`, `source`: `key` is the id).
 * talk_* cover answered calls with a talk duration; `speeds` are the speed-to-lead values there are.
 */
export interface StatsPartial {
  slot: number | null;
  key: string | null;
  name: string | null;
  calls: number;
  answered: number;
  talk_sum: number;
  talk_count: number;
  speeds: number[];
}

export interface StatsBucket {
  /** hour: local start with offset; day: `YYYY-MM-DD`; widget/agent/source: the id (null: calls without one). */
  key: string | null;
  /** widget, agent and source only: a readable name, when one is known. */
  name?: string | null;
  calls: number;
  answered: number;
  answer_rate: number | null;
  speed_to_lead_median_sec: number | null;
  speed_to_lead_p90_sec: number | null;
  talk_time_mean_sec: number | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter giving the wall-clock parts in `tz`; throws RangeError for an unknown zone. */
function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA zone (or alias) this runtime knows. */
export function isTimeZone(tz: string): boolean {
  if (tz.length === 0 || tz.length > 64) return false;
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

export interface WallTime { year: number; month: number; day: number; hour: number; minute: number; second: number }

/** The wall-clock time in `tz` at instant `ms` (whole seconds). */
export function wallTime(ms: number, tz: string): WallTime {
  const parts = formatterFor(tz).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The zone's offset from UTC at instant `ms`, in minutes (east positive). */
export function offsetMinutes(ms: number, tz: string): number {
  const w = wallTime(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - (ms - mod(ms, 1000))) / 60_000);
}

/** The instant of local midnight starting `date` (`YYYY-MM-DD`) in `tz` (the first instant of that date). */
export function localMidnight(date: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d);
  let guess = naive - offsetMinutes(naive, tz) * 60_000;
  guess = naive - offsetMinutes(guess, tz) * 60_000;
  // Where midnight does not exist (a DST change at 00:00), the day starts at the first instant after.
  const w = wallTime(guess, tz);
  if (Date.UTC(w.year, w.month - 1, w.day) < naive) guess += 3_600_000 - (w.minute * 60 + w.second) * 1000;
  return guess;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function isoDate(w: WallTime): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** `ms` in ISO 8601 local time with the zone's offset, e.g. 2026-10-25T02:00:00+01:00. */
export function isoWithOffset(ms: number, tz: string): string {
  const w = wallTime(ms, tz);
  const off = offsetMinutes(ms, tz);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${isoDate(w)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** The instant the local hour containing `ms` began in `tz`. */
export function hourStart(ms: number, tz: string): number {
  const w = wallTime(ms, tz);
  return ms - mod(ms, 1000) - (w.minute * 60 + w.second) * 1000;
}

/** Linear interpolation between closest ranks over ascending `sorted` (p in [0, 1]); null when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface Acc {
  key: string | null;
  name: string | null;
  calls: number;
  answered: number;
  talkSum: number;
  talkCount: number;
  speeds: number[];
}

/** Every zone offset in use is a multiple of 15 minutes: local hours and days begin on these slots. */
export const statsSlotMs = 15 * 60_000;

const newAcc = (key: string | null): Acc => ({ key, name: null, calls: 0, answered: 0, talkSum: 0, talkCount: 0, speeds: [] });

/**
 * Aggregates calls into buckets as they are read (memory: one small record per bucket plus the
 * speed-to-lead values, which the quantiles need). For `hour` and `day`, every bucket of [from, to) is
 * answered, empty ones included, in time order; other groups are ordered by calls, most first.
 */
export class StatsAggregator {
  private readonly buckets = new Map<string | number | null, Acc>();
  private readonly slots = new Map<number, { hourStart: number; date: string } | null>();

  constructor(
    readonly groupBy: StatsGroupBy,
    readonly tz: string,
  ) {}

  /** One call (the partial of a single call). */
  add(call: StatsCall): void {
    const answered = call.status === 'answered';
    const talk = answered && call.talk_duration_sec !== null;
    const grouped = { widget: [call.widget_key, call.widget_name], agent: [call.agent_id, call.agent_name], source: [call.source_id, null] } as const;
    const [key, name] = this.groupBy === 'hour' || this.groupBy === 'day' ? [null, null] : grouped[this.groupBy];
    this.addPartial({
      slot: Math.floor(call.time / statsSlotMs), key, name, calls: 1, answered: answered ? 1 : 0,
      talk_sum: talk ? call.talk_duration_sec! : 0, talk_count: talk ? 1 : 0,
      speeds: call.speed_to_lead_sec === null ? [] : [call.speed_to_lead_sec],
    });
  }

  /** Partial aggregates as the storage computes them (their slot decides the hour or day). */
  addPartial(p: StatsPartial): void {
    let id: string | number | null;
    let label: () => string | null;
    if (this.groupBy === 'hour') {
      const start = this.local(p.slot! * statsSlotMs).hourStart;
      id = start;
      label = () => isoWithOffset(start, this.tz);
    } else if (this.groupBy === 'day') {
      const date = this.local(p.slot! * statsSlotMs).date;
      id = date;
      label = () => date;
    } else {
      id = p.key;
      label = () => p.key;
    }
    let acc = this.buckets.get(id);
    if (!acc) this.buckets.set(id, (acc = newAcc(label())));
    acc.calls += p.calls;
    acc.answered += p.answered;
    acc.talkSum += p.talk_sum;
    acc.talkCount += p.talk_count;
    for (const speed of p.speeds) acc.speeds.push(speed);
    if (p.name !== null) acc.name = p.name;
  }

  /** The buckets; `from`/`to` (instants, `to` exclusive) give the empty hours or days to include. */
  finish(from: number, to: number, names: ReadonlyMap<string, string> = new Map()): StatsBucket[] {
    const accs = [...this.buckets.entries()];
    if (this.groupBy === 'hour' || this.groupBy === 'day') {
      for (const id of this.timeBucketIds(from, to)) {
        if (!this.buckets.has(id)) accs.push([id, newAcc(this.groupBy === 'hour' ? isoWithOffset(id as number, this.tz) : (id as string))]);
      }
      accs.sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
    } else {
      accs.sort(([, a], [, b]) => b.calls - a.calls || (a.key ?? '').localeCompare(b.key ?? ''));
    }
    return accs.map(([, acc]): StatsBucket => {
      const speeds = Float64Array.from(acc.speeds).sort();
      const grouped = this.groupBy !== 'hour' && this.groupBy !== 'day';
      const name = this.groupBy === 'source' && acc.key !== null ? (names.get(acc.key) ?? null) : acc.name;
      return {
        key: acc.key,
        ...(grouped ? { name } : {}),
        calls: acc.calls,
        answered: acc.answered,
        answer_rate: acc.calls === 0 ? null : acc.answered / acc.calls,
        speed_to_lead_median_sec: quantile(speeds, 0.5),
        speed_to_lead_p90_sec: quantile(speeds, 0.9),
        talk_time_mean_sec: acc.talkCount === 0 ? null : acc.talkSum / acc.talkCount,
      };
    });
  }

  /**
   * The local hour start and date of `ms`, from a cache per 15-minute UTC slot: every zone offset in use
   * since the 1970s is a multiple of 15 minutes, so local hours, days and offset changes begin on slot
   * boundaries and all of a slot shares them (Intl is asked once per slot, not once per call). A slot whose
   * offset is not such a multiple (old local mean times) is computed per call.
   */
  private local(ms: number): { hourStart: number; date: string } {
    const slot = Math.floor(ms / statsSlotMs);
    let cached = this.slots.get(slot);
    if (cached === undefined) {
      const start = slot * statsSlotMs;
      cached = offsetMinutes(start, this.tz) % 15 === 0 ? { hourStart: hourStart(start, this.tz), date: isoDate(wallTime(start, this.tz)) } : null;
      if (this.slots.size > 200_000) this.slots.clear();
      this.slots.set(slot, cached);
    }
    return cached ?? { hourStart: hourStart(ms, this.tz), date: isoDate(wallTime(ms, this.tz)) };
  }

  private *timeBucketIds(from: number, to: number): Generator<string | number> {
    if (to <= from) return;
    if (this.groupBy === 'hour') {
      let cur = hourStart(from, this.tz);
      while (cur < to) {
        yield cur;
        // One hour on, then back to that local hour's start (whole-hour zones: exactly one hour on).
        const next = hourStart(cur + 3_600_000, this.tz);
        cur = next > cur ? next : cur + 3_600_000;
      }
      return;
    }
    const first = wallTime(from, this.tz);
    const last = wallTime(to - 1, this.tz);
    const end = Date.UTC(last.year, last.month - 1, last.day);
    for (let d = Date.UTC(first.year, first.month - 1, first.day); d <= end; d += 86_400_000) {
      yield new Date(d).toISOString().slice(0, 10);
    }
  }
}
