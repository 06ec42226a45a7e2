import { describe, expect, it } from 'vitest';
import { callEventOf, inProgress, mergeCall, stale, str, type CallState } from './call.js';
import type { SourceId } from './ids.js';

const source = 'src_000000000aaaaaaaaaaaa' as SourceId;
const t0 = Date.parse('2024-03-01T10:00:00.000Z');

function apply(...events: Array<['start_call' | 'end_call', Record<string, unknown>, number]>): CallState {
  let state: CallState | null = null;
  for (const [type, payload, at] of events) state = mergeCall(state, source, 'call-1', callEventOf(type, payload, at));
  return state!;
}

const start = (payload: Record<string, unknown> = {}, at = t0) => ['start_call', payload, at] as ['start_call', Record<string, unknown>, number];
const end = (payload: Record<string, unknown> = {}, at = t0 + 60_000) => ['end_call', payload, at] as ['end_call', Record<string, unknown>, number];

describe('mergeCall: a new call', () => {
  it('starts in progress from a start_call, with started_at the moment it was received', () => {
    const call = apply(start({ user_id: 'u1', widget_key: 'w1', widget_name: 'Main', timezone: 'Europe/Stockholm', called_lead_phone: '+4670' }));
    expect(call).toMatchObject({
      source_id: source, call_id: 'call-1', status: inProgress, user_id: 'u1', widget_key: 'w1', widget_name: 'Main',
      timezone: 'Europe/Stockholm', called_lead_phone: '+4670', started_at: t0, ended_at: null,
      first_event_at: t0, last_event_at: t0, event_count: 1, merge_rank: 1,
    });
  });

  it("takes an end_call's own times, durations and call_status", () => {
    const call = apply(end({
      call_status: 'answered', time_started_iso_string: '2024-03-01T09:59:00.000Z', time_agent_answered_iso_string: '2024-03-01T09:59:05.000Z',
      time_lead_answered_iso_string: '2024-03-01T09:59:10.000Z', time_ended_iso_string: '2024-03-01T10:00:00.000Z',
      answer_duration_sec: 45, lead_answer_duration_sec: 40, talk_duration_sec: 38, total_duration_sec: 60,
      disconnected_by: 'agent', recording_link: 'https://rec/1',
    }));
    expect(call).toMatchObject({
      status: 'answered', merge_rank: 2,
      started_at: Date.parse('2024-03-01T09:59:00.000Z'), agent_answered_at: Date.parse('2024-03-01T09:59:05.000Z'),
      lead_answered_at: Date.parse('2024-03-01T09:59:10.000Z'), ended_at: Date.parse('2024-03-01T10:00:00.000Z'),
      answer_duration_sec: 45, lead_answer_duration_sec: 40, talk_duration_sec: 38, total_duration_sec: 60,
      disconnected_by: 'agent', recording_link: 'https://rec/1',
    });
  });

  it('ignores end_call-only fields on a start_call', () => {
    const call = apply(start({ time_ended_iso_string: '2024-03-01T10:00:00.000Z', talk_duration_sec: 5, recording_link: 'x', call_status: 'answered' }));
    expect(call).toMatchObject({ ended_at: null, talk_duration_sec: null, recording_link: null, status: inProgress });
  });
});

describe('mergeCall: order of events', () => {
  it('start then end: the end_call overwrites what the start_call said', () => {
    const call = apply(
      start({ widget_name: 'Old name', user_id: 'u1' }),
      end({ widget_name: 'New name', time_started_iso_string: '2024-03-01T09:59:59.000Z', call_status: 'answered' }),
    );
    expect(call).toMatchObject({ widget_name: 'New name', user_id: 'u1', started_at: Date.parse('2024-03-01T09:59:59.000Z'), status: 'answered', merge_rank: 2 });
  });

  it('end then start: the late start_call only fills what is missing', () => {
    const call = apply(
      end({ widget_name: 'From end', time_started_iso_string: '2024-03-01T09:59:59.000Z', call_status: 'no_answer' }, t0),
      start({ widget_name: 'From start', timezone: 'Europe/Stockholm' }, t0 + 5_000),
    );
    expect(call).toMatchObject({
      widget_name: 'From end', timezone: 'Europe/Stockholm', started_at: Date.parse('2024-03-01T09:59:59.000Z'),
      status: 'no_answer', merge_rank: 2,
    });
  });

  it('end then start: started_at comes from the start_call when the end_call had none', () => {
    const call = apply(end({ call_status: 'missed' }, t0), start({}, t0 + 5_000));
    expect(call.started_at).toBe(t0 + 5_000);
    expect(call.status).toBe('missed');
  });

  it('a later revision of the same type overwrites the earlier one', () => {
    const ends = apply(
      end({ call_status: 'no_answer', recording_link: 'https://rec/old', talk_duration_sec: 1 }, t0),
      end({ call_status: 'answered', recording_link: 'https://rec/new' }, t0 + 1_000),
    );
    expect(ends).toMatchObject({ status: 'answered', recording_link: 'https://rec/new', talk_duration_sec: 1 });
    const starts = apply(start({ widget_name: 'first' }, t0), start({ widget_name: 'second' }, t0 + 1_000));
    expect(starts.widget_name).toBe('second');
  });

  it('null or missing values never erase known ones', () => {
    const call = apply(
      end({ user_id: 'u1', widget_name: 'W', recording_link: 'https://rec/1', talk_duration_sec: 30, is_delayed_call: false }, t0),
      end({ user_id: null, widget_name: '', talk_duration_sec: null, is_delayed_call: null }, t0 + 1_000),
    );
    expect(call).toMatchObject({ user_id: 'u1', widget_name: 'W', recording_link: 'https://rec/1', talk_duration_sec: 30, is_delayed_call: false });
  });

  it('does not modify the previous state', () => {
    const first = apply(start({ widget_name: 'A', lead: { lead_phone: '1' } }));
    const snapshot = structuredClone(first);
    mergeCall(first, source, 'call-1', callEventOf('end_call', { widget_name: 'B', lead: { lead_phone: '2' } }, t0 + 1));
    expect(first).toEqual(snapshot);
  });
});

describe('mergeCall: lead and agent', () => {
  it('merges lead key by key: an end_call without custom_params keeps the start_call ones', () => {
    const call = apply(
      start({ lead: { lead_phone: '+4670', source: 'google', custom_params: { utm: 'ad' } } }),
      end({ lead: { lead_phone: '+4671', country: 'SE', source: null } }),
    );
    expect(call.lead).toEqual({ lead_phone: '+4671', source: 'google', country: 'SE', custom_params: { utm: 'ad' } });
  });

  it('a late start_call only adds lead keys the end_call lacked', () => {
    const call = apply(
      end({ lead: { lead_phone: '+4671', country: 'SE' } }, t0),
      start({ lead: { lead_phone: '+4670', source: 'google' } }, t0 + 1_000),
    );
    expect(call.lead).toEqual({ lead_phone: '+4671', country: 'SE', source: 'google' });
  });

  it('merges agent key by key and takes agent_id from agent.id', () => {
    const call = apply(
      end({ agent: { id: 42, name: 'Ann', email: 'ann@x.se' } }, t0),
      end({ agent: { name: 'Ann B.', email: null } }, t0 + 1_000),
    );
    expect(call.agent).toEqual({ id: 42, name: 'Ann B.', email: 'ann@x.se' });
    expect(call.agent_id).toBe('42');
  });

  it('keeps lead keys named __proto__, constructor or toString as data, and pollutes no prototype', () => {
    // As JSON.parse gives them: `__proto__` an own key, not the prototype.
    const first = JSON.parse('{"lead":{"constructor":"c1","lead_phone":"1"}}');
    const second = JSON.parse('{"lead":{"__proto__":{"polluted":2},"toString":"t","hasOwnProperty":null}}');
    const later = JSON.parse('{"lead":{"constructor":"c2","__proto__":{"polluted":3}}}');
    const call = apply(start(first), end(second), start(later, t0 + 120_000));
    expect(JSON.stringify(call.lead)).toBe('{"constructor":"c1","lead_phone":"1","__proto__":{"polluted":2},"toString":"t","hasOwnProperty":null}');
    expect(Object.getPrototypeOf(call.lead)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('ignores a lead or agent that is not an object', () => {
    const call = apply(start({ lead: { lead_phone: '1' }, agent: { id: 'a' } }), end({ lead: 'oops', agent: ['x'] }));
    expect(call.lead).toEqual({ lead_phone: '1' });
    expect(call.agent).toEqual({ id: 'a' });
    expect(call.agent_id).toBe('a');
  });
});

describe('mergeCall: status', () => {
  it('is in_progress after a start_call', () => {
    expect(apply(start()).status).toBe('in_progress');
  });

  it("is the end_call's call_status, or 'ended' when it sends none", () => {
    expect(apply(start(), end({ call_status: 'answered' })).status).toBe('answered');
    expect(apply(start(), end({})).status).toBe('ended');
    expect(apply(start(), end({ call_status: null })).status).toBe('ended');
    expect(apply(start(), end({ call_status: '' })).status).toBe('ended');
  });

  it('a stale call stays stale through a start_call and leaves it with an end_call', () => {
    const staleCall: CallState = { ...apply(start({}, t0)), status: stale };
    const afterStart = mergeCall(staleCall, source, 'call-1', callEventOf('start_call', { widget_name: 'W' }, t0 + 1_000));
    expect(afterStart.status).toBe('stale');
    expect(afterStart.widget_name).toBe('W');
    const afterEnd = mergeCall(afterStart, source, 'call-1', callEventOf('end_call', { call_status: 'answered' }, t0 + 2_000));
    expect(afterEnd.status).toBe('answered');
  });

  it('a late start_call does not reopen an ended call', () => {
    expect(apply(end({ call_status: 'answered' }, t0), start({}, t0 + 1_000)).status).toBe('answered');
  });
});

describe('mergeCall: derived values', () => {
  const lead = { time_created_iso_string: '2024-03-01T09:58:00.000Z' };

  it('computes speed_to_lead_sec from lead creation to start, rounded to seconds', () => {
    expect(apply(start({ lead }, Date.parse('2024-03-01T09:59:30.400Z'))).speed_to_lead_sec).toBe(90);
    expect(apply(start({ lead }, Date.parse('2024-03-01T09:59:30.600Z'))).speed_to_lead_sec).toBe(91);
  });

  it('computes time_to_connect_sec from lead creation to the lead answering', () => {
    const call = apply(end({ lead, time_started_iso_string: '2024-03-01T09:58:10.000Z', time_lead_answered_iso_string: '2024-03-01T09:58:25.000Z' }));
    expect(call.speed_to_lead_sec).toBe(10);
    expect(call.time_to_connect_sec).toBe(25);
    expect(call.lead_created_at).toBe(Date.parse(lead.time_created_iso_string));
  });

  it('computes them from values brought by different events', () => {
    const call = apply(start({ lead }, Date.parse('2024-03-01T09:58:30.000Z')), end({ time_lead_answered_iso_string: '2024-03-01T09:59:00.000Z' }));
    expect(call.speed_to_lead_sec).toBe(30);
    expect(call.time_to_connect_sec).toBe(60);
  });

  it('leaves them null when an input is missing', () => {
    expect(apply(start()).speed_to_lead_sec).toBeNull();
    expect(apply(start({ lead: { lead_phone: '1' } })).speed_to_lead_sec).toBeNull();
    const noAnswer = apply(end({ lead, time_started_iso_string: '2024-03-01T09:58:10.000Z' }));
    expect(noAnswer.speed_to_lead_sec).toBe(10);
    expect(noAnswer.time_to_connect_sec).toBeNull();
    const noLead = apply(end({ time_started_iso_string: '2024-03-01T09:58:10.000Z', time_lead_answered_iso_string: '2024-03-01T09:58:25.000Z' }));
    expect(noLead.speed_to_lead_sec).toBeNull();
    expect(noLead.time_to_connect_sec).toBeNull();
  });

  it('tracks first and last event times and counts events, whatever their order', () => {
    const call = apply(end({}, t0 + 5_000), start({}, t0 + 1_000), end({}, t0 + 3_000));
    expect(call.first_event_at).toBe(t0 + 1_000);
    expect(call.last_event_at).toBe(t0 + 5_000);
    expect(call.event_count).toBe(3);
  });
});

describe('callEventOf: coercions', () => {
  const fieldsOf = (payload: Record<string, unknown>) => callEventOf('end_call', payload, t0).fields;

  it('reads numeric strings as numbers and numbers as strings where text is expected', () => {
    const fields = fieldsOf({ talk_duration_sec: '38', answer_duration_sec: ' 4.5 ', total_duration_sec: '', user_id: 12345, widget_key: 0 });
    expect(fields.talk_duration_sec).toBe(38);
    expect(fields.answer_duration_sec).toBe(4.5);
    expect(fields.total_duration_sec).toBeNull();
    expect(fields.user_id).toBe('12345');
    expect(fields.widget_key).toBe('0');
  });

  it('drops non-numeric durations', () => {
    const fields = fieldsOf({ talk_duration_sec: 'long', answer_duration_sec: true, lead_answer_duration_sec: { s: 1 }, total_duration_sec: [3] });
    expect(fields).toMatchObject({ talk_duration_sec: null, answer_duration_sec: null, lead_answer_duration_sec: null, total_duration_sec: null });
  });

  it('reads booleans sent as strings or 0/1', () => {
    expect(fieldsOf({ is_delayed_call: 'true' }).is_delayed_call).toBe(true);
    expect(fieldsOf({ is_delayed_call: '1' }).is_delayed_call).toBe(true);
    expect(fieldsOf({ is_delayed_call: 1 }).is_delayed_call).toBe(true);
    expect(fieldsOf({ is_delayed_call: 'false' }).is_delayed_call).toBe(false);
    expect(fieldsOf({ is_delayed_call: '0' }).is_delayed_call).toBe(false);
    expect(fieldsOf({ is_delayed_call: 0 }).is_delayed_call).toBe(false);
    expect(fieldsOf({ is_delayed_call: 'yes' }).is_delayed_call).toBeNull();
    expect(fieldsOf({ is_delayed_call: 2 }).is_delayed_call).toBeNull();
  });

  it('turns invalid or non-string dates into null', () => {
    const fields = fieldsOf({
      time_started_iso_string: 'yesterday-ish', time_ended_iso_string: 1709287200000, time_agent_answered_iso_string: '',
      time_lead_answered_iso_string: '2024-13-45T99:00:00Z', lead: { time_created_iso_string: 'never' },
    });
    expect(fields).toMatchObject({ started_at: null, ended_at: null, agent_answered_at: null, lead_answered_at: null, lead_created_at: null });
  });

  it('reads a time without an offset as UTC, whatever the zone the server runs in (it was read in the server\'s own zone)', () => {
    const zone = process.env.TZ;
    const utc = Date.UTC(2026, 0, 1, 12, 0, 0);
    try {
      for (const tz of ['America/New_York', 'Europe/Stockholm', 'Asia/Kolkata']) {
        process.env.TZ = tz;
        const fields = fieldsOf({
          time_started_iso_string: '2026-01-01T12:00:00', time_agent_answered_iso_string: '2026-01-01 12:00:00.250',
          // 02:30 on the night Stockholm's clocks skip from 02:00 to 03:00: a UTC time like any other.
          time_lead_answered_iso_string: '2026-03-29T02:30:00', time_ended_iso_string: '2026-01-01T12:00:00.000Z',
          lead: { time_created_iso_string: '2026-01-01' },
        });
        expect(fields, tz).toMatchObject({
          started_at: utc, agent_answered_at: utc + 250, lead_answered_at: Date.UTC(2026, 2, 29, 2, 30), ended_at: utc, lead_created_at: Date.UTC(2026, 0, 1),
        });
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('reads offsets and HTTP dates, and refuses days the calendar lacks and text that is no time (they became other days, or 2001)', () => {
    const at = (value: unknown) => fieldsOf({ time_started_iso_string: value }).started_at;
    expect(at('2026-01-01T12:00:00+01:00')).toBe(Date.UTC(2026, 0, 1, 11));
    expect(at('2026-01-01T12:00:00-0530')).toBe(Date.UTC(2026, 0, 1, 17, 30));
    expect(at('2026-01-01T12:00:00.123456Z')).toBe(Date.UTC(2026, 0, 1, 12, 0, 0, 123));
    expect(at('Thu, 01 Jan 2026 12:00:00 GMT')).toBe(Date.UTC(2026, 0, 1, 12));
    expect(at('2024-02-29T23:59:59.999Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    expect(at('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(at('2026-12-31T23:59:59Z')).toBe(Date.UTC(2026, 11, 31, 23, 59, 59));
    // Date.parse reads these as 2026-03-02, 2026-03-01, 2026-05-01, 1900-03-01, 2026-03-03, 2026-05-01 and 2026-01-11.
    for (const value of ['2026-02-30T00:00:00Z', '2026-02-29T00:00:00Z', '2026-04-31', '1900-02-29T00:00:00Z', '31 Feb 2026 12:00:00 GMT', '2026-04-31T10:00:00.000Z', '2026-01-10T24:00:00.000Z']) {
      expect(at(value), value).toBeNull();
    }
    // Date.parse reads these as times of 2001 in the server's zone.
    for (const value of ['1', '12', 'answered 5', 'call 2']) expect(at(value), value).toBeNull();
    for (const value of ['2026-13-45', '2026-01-01T25:00:00Z', '2026-01-01T12:60:00Z', '2026-01-01T12:00:00+25:00', 'Thu, 01 Jan 2026 12:00:00']) expect(at(value), value).toBeNull();
  });

  it('replaces NUL in text fields and cuts them at 4096 characters', () => {
    expect(fieldsOf({ widget_name: 'a\u0000b' }).widget_name).toBe('a\uFFFDb');
    expect(fieldsOf({ disconnected_by: 'x'.repeat(5000) }).disconnected_by).toHaveLength(4096);
    expect(str('\u0000')).toBe('\uFFFD');
  });

  it('turns numbers too large to be durations into null', () => {
    const fields = fieldsOf({ talk_duration_sec: 1e12, answer_duration_sec: -1e12, total_duration_sec: '1e300', lead_answer_duration_sec: 999_999_999_999 });
    expect(fields.talk_duration_sec).toBeNull();
    expect(fields.answer_duration_sec).toBeNull();
    expect(fields.total_duration_sec).toBeNull();
    expect(fields.lead_answer_duration_sec).toBe(999_999_999_999);
  });

  it('turns non-string text fields into null', () => {
    const fields = fieldsOf({ widget_name: true, timezone: { tz: 'x' }, disconnected_by: ['a'], recording_link: Number.NaN });
    expect(fields).toMatchObject({ widget_name: null, timezone: null, disconnected_by: null, recording_link: null });
  });

  it('carries call_status for end_call events', () => {
    expect(callEventOf('end_call', { call_status: 'answered' }, t0).callStatus).toBe('answered');
    expect(callEventOf('end_call', {}, t0).callStatus).toBeNull();
  });
});

describe('found by review', () => {
  it('a late start_call fills lead keys the end_call sent as null', () => {
    const ended = mergeCall(null, source, 'c', callEventOf('end_call', { lead: { lead_phone: null, custom_params: null, country: 'SE' } }, 1000));
    const call = mergeCall(ended, source, 'c', callEventOf('start_call', { lead: { lead_phone: '+4670', custom_params: { utm: 'ad' } } }, 2000));
    expect(call.lead).toEqual({ lead_phone: '+4670', custom_params: { utm: 'ad' }, country: 'SE' });
  });
  it('keeps the outcome when an end_call revision sends no call_status', () => {
    const answered = mergeCall(null, source, 'c', callEventOf('end_call', { call_status: 'answered' }, 1000));
    const revised = mergeCall(answered, source, 'c', callEventOf('end_call', { talk_duration_sec: 12 }, 2000));
    expect(revised.status).toBe('answered');
    expect(revised.talk_duration_sec).toBe(12);
  });
});

describe('mergeCall: text every backend can store and query', () => {
  it('replaces NUL and lone surrogates in the lead and agent, keys included, with U+FFFD', () => {
    const payload = JSON.parse('{"lead":{"x":"\\u0000","\\ud800":"a","custom_params":{"k\\u0000":"\\udc00"}},"agent":{"id":"7","name":"\\ud800Bo"}}') as Record<string, unknown>;
    const call = apply(start(payload));
    expect(call.lead).toEqual({ x: '\ufffd', '\ufffd': 'a', custom_params: { 'k\ufffd': '\ufffd' } });
    expect(call.agent).toEqual({ id: '7', name: '\ufffdBo' });
  });

  it('cleans what an earlier record held when the next event arrives', () => {
    const previous = { ...apply(start({})), lead: { name: 'N\u0000' } };
    const call = mergeCall(previous, source, 'call-1', callEventOf('end_call', { call_status: 'answered' }, t0 + 1000));
    expect(call.lead).toEqual({ name: 'N\ufffd' });
  });
});
