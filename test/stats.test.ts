import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeRanges } from '../src/domain/stats.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';

/**
 * GET /v1/stats against an independent computation: ~300 generated calls (fixed seed) go through the real
 * ingest, then every grouping is recomputed here with plain loops and Intl directly (not the stats
 * module), including the DST changes of 2026 in Europe/Stockholm.
 */

interface Generated {
  callId: string;
  time: number;
  status: string;
  widgetKey: string | null;
  widgetName: string | null;
  agentId: string | null;
  agentName: string | null;
  speed: number | null;
  talk: number | null;
  disconnectedBy: string | null;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const at = (iso: string) => Date.parse(iso);
const sthlm = 'Europe/Stockholm';

function generate(): Generated[] {
  const rand = mulberry32(20261025);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const widgets = [['wid_a', 'Pricing page'], ['wid_b', 'Contact form'], ['wid_c', 'Demo'], [null, null]] as const;
  const agents = [['101', 'Anna'], ['102', 'Björn'], ['103', 'Cecilia'], [null, null]] as const;
  const statuses = ['answered', 'answered', 'answered', 'no_answer', 'busy', 'failed'];
  const disconnects = ['agent', 'lead', 'lead', 'system', null];
  const windows: Array<[number, number, number]> = [
    [120, at('2026-10-23T20:00:00Z'), at('2026-10-28T02:00:00Z')],
    [40, at('2026-10-24T23:30:00Z'), at('2026-10-25T02:30:00Z')], // around the repeated hour
    [100, at('2026-03-28T20:00:00Z'), at('2026-03-30T02:00:00Z')],
    [36, at('2026-10-20T00:00:00Z'), at('2026-11-01T00:00:00Z')],
  ];
  const times: number[] = [at('2026-10-23T22:00:00Z'), at('2026-10-27T22:59:59Z'), at('2026-10-27T23:00:00Z')]; // range edges
  for (let i = 0; i < 9; i++) times.push(at('2026-10-25T00:30:00Z')); // equal times
  for (const [count, from, to] of windows) {
    for (let i = 0; i < count; i++) times.push(from + Math.floor(rand() * ((to - from) / 1000)) * 1000);
  }
  const generated = times.map((time, i): Generated => {
    const [widgetKey, widgetName] = pick(widgets);
    const [agentId, agentName] = pick(agents);
    const status = pick(statuses);
    return {
      callId: `gen-${i}`,
      time,
      status,
      widgetKey,
      widgetName,
      agentId,
      agentName,
      speed: rand() < 0.15 ? null : Math.floor(rand() * rand() * 3600),
      talk: rand() < 0.1 ? null : Math.floor(rand() * 900),
      disconnectedBy: pick(disconnects),
    };
  });
  // The speed-to-lead bands' edges, on a quiet day (no other calls near).
  const edges = [60, 61, 300, 301, 900, 901, null].map((speed, i): Generated => ({
    callId: `edge-${i}`, time: at('2026-06-15T09:00:00Z') + i * 60_000, status: 'answered', widgetKey: 'wid_a', widgetName: 'Pricing page',
    agentId: '101', agentName: 'Anna', speed, talk: 30, disconnectedBy: 'agent',
  }));
  return [...generated, ...edges];
}

function body(c: Generated): string {
  const lead: Record<string, unknown> = { lead_phone: '+46700000000', lead_id: c.callId, custom_params: {} };
  if (c.speed !== null) lead.time_created_iso_string = new Date(c.time - c.speed * 1000).toISOString();
  return endCall(c.callId, {
    call_status: c.status,
    widget_key: c.widgetKey,
    widget_name: c.widgetName,
    agent: c.agentId === null ? null : { id: c.agentId, name: c.agentName, phone: '+4680000000', email: 'a@example.com' },
    time_started_iso_string: new Date(c.time).toISOString(),
    talk_duration_sec: c.talk,
    disconnected_by: c.disconnectedBy,
    lead,
  });
}

// The independent computation.
function quantile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

function measures(calls: Generated[]) {
  const answered = calls.filter((c) => c.status === 'answered');
  const talks = answered.flatMap((c) => (c.talk === null ? [] : [c.talk]));
  const speeds = calls.flatMap((c) => (c.speed === null ? [] : [c.speed]));
  return {
    calls: calls.length,
    answered: answered.length,
    answer_rate: calls.length === 0 ? null : answered.length / calls.length,
    speed_to_lead_median_sec: quantile(speeds, 0.5),
    speed_to_lead_p90_sec: quantile(speeds, 0.9),
    talk_time_mean_sec: talks.length === 0 ? null : talks.reduce((a, b) => a + b, 0) / talks.length,
    speed_to_lead_within_60_sec: speeds.filter((s) => s <= 60).length,
    speed_to_lead_within_300_sec: speeds.filter((s) => s <= 300).length,
    speed_to_lead_within_900_sec: speeds.filter((s) => s <= 900).length,
    speed_to_lead_over_900_sec: speeds.filter((s) => s > 900).length,
    speed_to_lead_unknown: calls.length - speeds.length,
  };
}

function localParts(ms: number, tz: string) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset',
  }).formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : p.timeZoneName!.slice(3);
  return { date: `${p.year}-${p.month}-${p.day}`, hourLabel: `${p.year}-${p.month}-${p.day}T${p.hour}:00:00${offset}` };
}

/** Expected buckets for labels in order, with the calls each label gets. */
function expectedBuckets(labels: string[], calls: Generated[], labelOf: (c: Generated) => string) {
  return labels.map((key) => ({ key, ...measures(calls.filter((c) => labelOf(c) === key)) }));
}

function expectSame(actual: Array<Record<string, unknown>>, expected: Array<Record<string, unknown>>) {
  expect(actual.map((b) => b.key)).toEqual(expected.map((b) => b.key));
  expected.forEach((e, i) => {
    const a = actual[i]!;
    for (const [field, value] of Object.entries(e)) {
      if (typeof value === 'number' && !Number.isInteger(value)) expect(a[field], `${String(e.key)} ${field}`).toBeCloseTo(value, 9);
      else expect(a[field], `${String(e.key)} ${field}`).toEqual(value);
    }
  });
}

const hours = (date: string, offsets: string[]) => {
  // offsets[i] is the offset of local hour i; a repeated hour is listed twice.
  const labels: string[] = [];
  let hour = 0;
  offsets.forEach((offset, i) => {
    if (i > 0 && offsets[i - 1] !== offset && offset < offsets[i - 1]!) hour -= 1; // fall back: the hour repeats
    if (i > 0 && offsets[i - 1] !== offset && offset > offsets[i - 1]!) hour += 1; // spring forward: an hour is skipped
    labels.push(`${date}T${String(hour).padStart(2, '0')}:00:00${offset}`);
    hour += 1;
  });
  return labels;
};

describe.each(backends)('stats on $name', (backend) => {
  let t: TestApp;
  const calls = generate();
  let sourceId: string;

  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
    for (let i = 0; i < calls.length; i += 25) {
      const answers = await Promise.all(calls.slice(i, i + 25).map((c) => t.post(body(c))));
      for (const a of answers) expect(a.status).toBe(200);
    }
    sourceId = (await t.api('/v1/calls/gen-0')).body.source_id;
  }, 60_000);
  afterAll(() => t.close());

  const stats = async (query: string) => {
    const answer = await t.api(`/v1/stats?${query}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  };

  it('answers 13 months of hours, written in slices, as one computation of the hours: each once, in order, across both DST changes', async () => {
    const from = '2025-12-15T13:30:00+01:00';
    const to = '2027-01-10T00:00:00+01:00';
    const body = await stats(`group_by=hour&tz=Europe/Stockholm&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const hours = timeRanges('hour', sthlm, at(from), at(to));
    expect(hours.length).toBeGreaterThan(9_000);
    expect(body.buckets.map((b: { key: string }) => b.key)).toEqual(hours.map((h) => h.key));
    expect(body.buckets.map((b: { calls: number }) => b.calls).reduce((n: number, c: number) => n + c, 0))
      .toBe(calls.filter((c) => c.time >= at(from) && c.time < at(to)).length);
    expect(body.buckets[0]).toMatchObject({ key: '2025-12-15T13:00:00+01:00', calls: 0, answered: 0, answer_rate: null, speed_to_lead_median_sec: null, speed_to_lead_p90_sec: null, talk_time_mean_sec: null, speed_to_lead_unknown: 0 });
  });

  it('counts days in Europe/Stockholm across the end of DST (2026-10-25 has 25 hours)', async () => {
    const body = await stats('group_by=day&tz=Europe/Stockholm&from=2026-10-24&to=2026-10-28');
    expect(body).toMatchObject({ group_by: 'day', tz: sthlm, from: '2026-10-24T00:00:00+02:00', to: '2026-10-28T00:00:00+01:00' });
    const inRange = calls.filter((c) => c.time >= at('2026-10-23T22:00:00Z') && c.time < at('2026-10-27T23:00:00Z'));
    const expected = expectedBuckets(['2026-10-24', '2026-10-25', '2026-10-26', '2026-10-27'], inRange, (c) => localParts(c.time, sthlm).date);
    expect(expected.reduce((n, b) => n + b.calls, 0)).toBe(inRange.length);
    expectSame(body.buckets, expected);
    // The day of the change is 25 hours long: a fixed 24-hour day from local midnight would miss its last hour.
    expect(expected[1]!.calls).toBe(calls.filter((c) => c.time >= at('2026-10-24T22:00:00Z') && c.time < at('2026-10-25T23:00:00Z')).length);
  });

  it('has 25 hourly buckets on the fall-back day, the repeated 02:00 told apart by its offset', async () => {
    const body = await stats('group_by=hour&tz=Europe/Stockholm&from=2026-10-25&to=2026-10-26');
    const labels = hours('2026-10-25', [...Array(3).fill('+02:00'), ...Array(22).fill('+01:00')]);
    expect(labels).toHaveLength(25);
    expect(labels.slice(2, 4)).toEqual(['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00']);
    const inRange = calls.filter((c) => c.time >= at('2026-10-24T22:00:00Z') && c.time < at('2026-10-25T23:00:00Z'));
    const expected = expectedBuckets(labels, inRange, (c) => localParts(c.time, sthlm).hourLabel);
    expect(expected[2]!.calls + expected[3]!.calls).toBeGreaterThan(5);
    expectSame(body.buckets, expected);
  });

  it('has 23 hourly buckets on the spring-forward day (no 02:00)', async () => {
    const body = await stats('group_by=hour&tz=Europe/Stockholm&from=2026-03-29T00:00:00%2B01:00&to=2026-03-30T00:00:00%2B02:00');
    const labels = hours('2026-03-29', [...Array(2).fill('+01:00'), ...Array(21).fill('+02:00')]);
    expect(labels).toHaveLength(23);
    expect(labels.slice(1, 3)).toEqual(['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00']);
    const inRange = calls.filter((c) => c.time >= at('2026-03-28T23:00:00Z') && c.time < at('2026-03-29T22:00:00Z'));
    expect(inRange.length).toBeGreaterThan(30);
    expectSame(body.buckets, expectedBuckets(labels, inRange, (c) => localParts(c.time, sthlm).hourLabel));
  });

  it('counts days in UTC when no tz is given', async () => {
    const body = await stats('group_by=day&from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z');
    expect(body.tz).toBe('UTC');
    const inRange = calls.filter((c) => c.time >= at('2026-03-28T00:00:00Z') && c.time < at('2026-03-31T00:00:00Z'));
    expectSame(body.buckets, expectedBuckets(['2026-03-28', '2026-03-29', '2026-03-30'], inRange, (c) => new Date(c.time).toISOString().slice(0, 10)));
  });

  it('counts the speed-to-lead bands at their edges: 60 s is within a minute, 61 s is not; no speed is unknown', async () => {
    const body = await stats('group_by=day&tz=UTC&from=2026-06-15T09:00:00Z&to=2026-06-15T09:07:00Z');
    expect(body.buckets).toEqual([expect.objectContaining({
      calls: 7, speed_to_lead_within_60_sec: 1, speed_to_lead_within_300_sec: 3, speed_to_lead_within_900_sec: 5, speed_to_lead_over_900_sec: 1, speed_to_lead_unknown: 1,
    })]);
  });

  it('folds every call into its local hour of the week in Europe/Stockholm across both DST changes: 168 cells that sum to the range', async () => {
    const from = '2026-03-23T00:00:00+01:00'; // a Monday
    const to = '2026-11-02T00:00:00+01:00';
    const body = await stats(`group_by=weekday_hour&tz=Europe/Stockholm&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const inRange = calls.filter((c) => c.time >= at(from) && c.time < at(to));
    const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: sthlm, weekday: 'short', hour: '2-digit', hourCycle: 'h23' });
    const cellOf = (ms: number) => {
      const p = Object.fromEntries(local.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
      return `${weekdays.indexOf(p.weekday!) + 1}T${p.hour}`;
    };
    const labels = weekdays.flatMap((_, d) => Array.from({ length: 24 }, (_, h) => `${d + 1}T${String(h).padStart(2, '0')}`));
    expectSame(body.buckets, expectedBuckets(labels, inRange, (c) => cellOf(c.time)));
    expect(body.buckets.reduce((n: number, b: { calls: number }) => n + b.calls, 0)).toBe(inRange.length);
    // The repeated 02:00 of 25 October (both offsets) lands in Sunday 02:00; 29 March has no 02:00.
    const repeated = inRange.filter((c) => c.time >= at('2026-10-25T00:00:00Z') && c.time < at('2026-10-25T02:00:00Z'));
    expect(new Set(repeated.map((c) => cellOf(c.time)))).toEqual(new Set(['7T02']));
    expect(repeated.some((c) => c.time >= at('2026-10-25T01:00:00Z'))).toBe(true);
    const sunday2 = body.buckets.find((b: { key: string }) => b.key === '7T02');
    expect(sunday2).toMatchObject({ weekday: 7, hour: 2, hours: 32 });
    expect(sunday2.calls).toBeGreaterThanOrEqual(repeated.length);
    expect(body.buckets.find((b: { key: string }) => b.key === '1T00')).toMatchObject({ weekday: 1, hour: 0, hours: 32 });
  });

  it('marks the cells a short range does not reach: a Sunday has one weekday', async () => {
    const body = await stats('group_by=weekday_hour&tz=Europe/Stockholm&from=2026-10-25&to=2026-10-26');
    expect(body.buckets).toHaveLength(168);
    expect(body.buckets.filter((b: { hours: number }) => b.hours > 0).map((b: { key: string }) => b.key)).toEqual(Array.from({ length: 24 }, (_, h) => `7T${String(h).padStart(2, '0')}`));
    expect(body.buckets.find((b: { key: string }) => b.key === '7T02').hours).toBe(2);
  });

  it('groups by disconnected_by, and the calls list filtered by it and by the stats\' time holds exactly the calls each group counts', async () => {
    const from = '2026-10-20T00:00:00Z';
    const to = '2026-11-01T00:00:00Z';
    const body = await stats(`group_by=disconnected_by&tz=Europe/Stockholm&from=${from}&to=${to}`);
    const inRange = calls.filter((c) => c.time >= at(from) && c.time < at(to));
    const keys = [...new Set(inRange.map((c) => c.disconnectedBy))];
    const expected = keys
      .map((key) => ({ key, ...measures(inRange.filter((c) => c.disconnectedBy === key)) }))
      .sort((a, b) => b.calls - a.calls || (a.key ?? '').localeCompare(b.key ?? ''));
    expect(expected.length).toBe(4);
    expectSame(body.buckets, expected);
    expect(body.buckets.every((b: object) => !('name' in b))).toBe(true);
    for (const group of expected.filter((g) => g.key !== null)) {
      const list = await t.api(`/v1/calls?disconnected_by=${group.key}&started_from=${from}&started_to=${to}&limit=500`);
      expect(list.status).toBe(200);
      expect(list.body.data.map((c: { call_id: string }) => c.call_id).sort()).toEqual(inRange.filter((c) => c.disconnectedBy === group.key).map((c) => c.callId).sort());
    }
    const csv = await t.api(`/v1/calls.csv?disconnected_by=system&started_from=${from}&started_to=${to}`);
    expect(csv.status).toBe(200);
    expect(String(csv.body).trim().split('\n').length - 1).toBe(inRange.filter((c) => c.disconnectedBy === 'system').length);
  });

  const groups = [
    ['widget', (c: Generated) => c.widgetKey, (c: Generated) => c.widgetName],
    ['agent', (c: Generated) => c.agentId, (c: Generated) => c.agentName],
  ] as const;
  for (const [groupBy, keyOf, nameOf] of groups) {
    it(`groups by ${groupBy} with its name, most calls first`, async () => {
      const body = await stats(`group_by=${groupBy}&tz=Europe/Stockholm&from=2026-10-20T00:00:00Z&to=2026-11-01T00:00:00Z`);
      const inRange = calls.filter((c) => c.time >= at('2026-10-20T00:00:00Z') && c.time < at('2026-11-01T00:00:00Z'));
      const keys = new Map<string | null, Generated[]>();
      for (const c of inRange) keys.set(keyOf(c), [...(keys.get(keyOf(c)) ?? []), c]);
      const expected = [...keys.entries()]
        .map(([key, group]) => ({ key, name: nameOf(group[0]!), ...measures(group) }))
        .sort((a, b) => b.calls - a.calls || (a.key ?? '').localeCompare(b.key ?? ''));
      expect(expected.length).toBe(4);
      expectSame(body.buckets, expected);
    });
  }

  it('groups by source', async () => {
    const body = await stats('group_by=source&from=2026-03-01T00:00:00Z&to=2026-11-01T00:00:00Z');
    expect(body.buckets).toHaveLength(1);
    expectSame(body.buckets, [{ key: sourceId, ...measures(calls) }]);
    expect(typeof body.buckets[0].name).toBe('string');
  });

  it('counts a call without a start time at its first event', async () => {
    const c: Generated = { callId: 'no-start', time: 0, status: 'answered', widgetKey: 'wid_z', widgetName: 'Z', agentId: null, agentName: null, speed: null, talk: 12, disconnectedBy: null };
    const before = Date.now();
    expect((await t.post(endCall(c.callId, { widget_key: 'wid_z', time_started_iso_string: null, talk_duration_sec: 12, lead: null, agent: null }))).status).toBe(200);
    const from = new Date(before - 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const body = await stats(`group_by=widget&from=${from}&to=${to}`);
    expect(body.buckets).toEqual([
      {
        key: 'wid_z', name: 'string', calls: 1, answered: 1, answer_rate: 1, speed_to_lead_median_sec: null, speed_to_lead_p90_sec: null, talk_time_mean_sec: 12,
        speed_to_lead_within_60_sec: 0, speed_to_lead_within_300_sec: 0, speed_to_lead_within_900_sec: 0, speed_to_lead_over_900_sec: 0, speed_to_lead_unknown: 1,
      },
    ]);
  });

  it('defaults to the last 7 days, by day', async () => {
    const body = await stats('tz=Europe/Stockholm');
    expect(body.group_by).toBe('day');
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(7 * 86_400_000);
    expect(body.buckets.length).toBeGreaterThanOrEqual(7);
  });

  it('clips the first and last day to a range that starts and ends inside them', async () => {
    const from = '2026-10-24T13:17:00%2B02:00';
    const to = '2026-10-26T05:00:00%2B01:00';
    const body = await stats(`group_by=day&tz=Europe/Stockholm&from=${from}&to=${to}`);
    const inRange = calls.filter((c) => c.time >= at('2026-10-24T11:17:00Z') && c.time < at('2026-10-26T04:00:00Z'));
    const expected = expectedBuckets(['2026-10-24', '2026-10-25', '2026-10-26'], inRange, (c) => localParts(c.time, sthlm).date);
    expect(expected[0]!.calls).toBeLessThan(calls.filter((c) => localParts(c.time, sthlm).date === '2026-10-24').length);
    expectSame(body.buckets, expected);
  });

  it('needs a key and rejects a bad zone, grouping or range', async () => {
    expect((await t.api('/v1/stats', null)).status).toBe(401);
    for (const query of [
      'tz=Mars/Olympus',
      'group_by=week',
      'from=yesterday',
      'from=2026-10-25T00:00:00', // no offset: ambiguous
      'from=2026-02-30',
      'from=2026-10-26&to=2026-10-25',
      'from=2025-01-01&to=2026-03-01',
    ]) {
      const answer = await t.api(`/v1/stats?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error, query).toBe('invalid_request');
    }
  });
});
