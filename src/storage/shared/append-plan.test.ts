import { describe, expect, it } from 'vitest';
import { callEventOf, mergeCall, type CallState } from '../../domain/call.js';
import type { EventId, SourceId } from '../../domain/ids.js';
import type { NewEvent } from '../ports.js';
import type { DestinationId } from '../../domain/ids.js';
import { callKey, callKeysToLoad, callText, duplicateCandidates, eventKey, planAppend, queueOutbox, recordInserted, type Stored } from './append-plan.js';
import { callJson, callRecordOf, callToRow } from './call-rows.js';

const srcA = 'src_000000000aaaaaaaaaaaa' as SourceId;
const srcB = 'src_000000000bbbbbbbbbbbb' as SourceId;
let n = 0;
const id = () => `evt_000000000${String(++n).padStart(12, '0')}` as EventId;

/**
 * An accepted event whose body is the JSON of `payload` with its type and call_id. It also carries what the
 * ingest edge read from it as `call` (for a plan that takes it from there rather than from the body).
 */
function accepted(callId: string, bodyHash: string, options: { sourceId?: SourceId; type?: 'start_call' | 'end_call' | 'other'; payload?: Record<string, unknown>; at?: number } = {}): NewEvent {
  const type = options.type ?? 'end_call';
  const at = options.at ?? 1_000;
  const payload = { type, call_id: callId, ...options.payload };
  const body = Buffer.from(JSON.stringify(payload));
  const event = {
    id: id(), sourceId: options.sourceId ?? srcA, callId, type, status: 'ok' as const, errorCode: null, errorDetail: null,
    contentType: 'application/json', body, bodyHash, bodySize: body.length, bodyTruncated: false, receivedAt: at,
    call: type === 'other' ? null : callEventOf(type, payload, at),
  };
  return event as NewEvent;
}

function quarantined(bodyHash: string | null = null, callId: string | null = null): NewEvent {
  const event = {
    id: id(), sourceId: srcA, callId, type: null, status: 'quarantined' as const, errorCode: 'invalid_json', errorDetail: 'x',
    contentType: 'application/json', body: Buffer.from('{'), bodyHash, bodySize: 1, bodyTruncated: false, receivedAt: 1_000, call: null,
  };
  return event as NewEvent;
}

/** Runs a plan as a backend would: known stored events, seqs from `firstSeq` for the fresh ones. */
function runPlan(batch: NewEvent[], known = new Map<string, Stored>(), existing = new Map<string, CallState>(), firstSeq = 100) {
  const plan = planAppend(batch, known, existing);
  const seqs = plan.fresh.map((_, i) => firstSeq + i);
  const results = recordInserted(plan, seqs);
  return { plan, seqs, calls: plan.touched, results };
}

function stale(callId: string, at = 9_000): NewEvent {
  return {
    id: id(), sourceId: srcA, callId, type: 'call.stale', status: 'system', errorCode: null, errorDetail: null, contentType: 'application/json',
    body: Buffer.from('{"reason":"no end_call"}'), bodyHash: null, bodySize: 24, bodyTruncated: false, receivedAt: at,
  };
}

describe('duplicateCandidates', () => {
  it('lists each accepted (source, body hash) once, leaving out quarantined events', () => {
    const batch = [accepted('c1', 'h1'), accepted('c1', 'h1'), accepted('c2', 'h2'), accepted('c1', 'h1', { sourceId: srcB }), quarantined('hq', 'cq')];
    expect(duplicateCandidates(batch)).toEqual([
      { callId: 'c1', sourceId: srcA, bodyHash: 'h1', writesCall: true },
      { callId: 'c2', sourceId: srcA, bodyHash: 'h2', writesCall: true },
      { callId: 'c1', sourceId: srcB, bodyHash: 'h1', writesCall: true },
    ]);
  });

  it('given the stored calls, leaves out a start_call or end_call whose call is not stored, keeps any other type, and says which write their call', () => {
    const batch = [
      accepted('new', 'h1', { type: 'start_call' }), accepted('new', 'h2'), accepted('old', 'h3'), accepted('old', 'h4', { sourceId: srcB }),
      accepted('new', 'h5', { type: 'other' }),
    ];
    const stored = new Map([[callKey(srcA, 'old'), {}]]);
    expect(duplicateCandidates(batch, stored)).toEqual([
      { callId: 'old', sourceId: srcA, bodyHash: 'h3', writesCall: true },
      { callId: 'new', sourceId: srcA, bodyHash: 'h5', writesCall: false },
    ]);
  });
});

describe('planAppend and recordInserted', () => {
  it('answers a duplicate of a stored event with the stored id and seq, and does not insert it', () => {
    const stored: Stored = { id: 'evt_000000000storedstored' as EventId, seq: 7 };
    const batch = [accepted('c1', 'h1'), accepted('c2', 'h2')];
    const { plan, results } = runPlan(batch, new Map([[eventKey(srcA, 'h1'), stored]]));
    expect(plan.fresh.map((f) => f.index)).toEqual([1]);
    expect(results[0]).toEqual({ id: stored.id, seq: 7, duplicate: true, call: null });
    expect(results[1]).toMatchObject({ id: batch[1]!.id, seq: 100, duplicate: false });
  });

  it('a stored event of another source is not a duplicate', () => {
    const stored: Stored = { id: 'evt_000000000storedstored' as EventId, seq: 7 };
    const { plan, results } = runPlan([accepted('c1', 'h1', { sourceId: srcB })], new Map([[eventKey(srcA, 'h1'), stored]]));
    expect(plan.fresh).toHaveLength(1);
    expect(results[0]!.duplicate).toBe(false);
  });

  it("gives a duplicate within the batch the first one's id and seq", () => {
    const batch = [accepted('c1', 'h1'), accepted('c2', 'h2'), accepted('c1', 'h1'), accepted('c1', 'h1')];
    const { plan, results } = runPlan(batch);
    expect(plan.fresh.map((f) => f.index)).toEqual([0, 1]);
    expect(results.map((r) => [r.id, r.seq, r.duplicate])).toEqual([
      [batch[0]!.id, 100, false],
      [batch[1]!.id, 101, false],
      [batch[0]!.id, 100, true],
      [batch[0]!.id, 100, true],
    ]);
  });

  it('always inserts quarantined events, even with equal bodies', () => {
    const batch = [quarantined(), quarantined(), quarantined('same'), quarantined('same')];
    const stored: Stored = { id: 'evt_000000000storedstored' as EventId, seq: 7 };
    const { plan, results } = runPlan(batch, new Map([[eventKey(srcA, 'same'), stored], [eventKey(srcA, null), stored]]));
    expect(plan.fresh.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    expect(results.map((r) => [r.id, r.seq, r.duplicate])).toEqual(batch.map((e, i) => [e.id, 100 + i, false]));
  });

  it('inserts fresh events in batch order with the seqs given in that order', () => {
    const batch = [quarantined(), accepted('c1', 'h1'), accepted('c1', 'h1'), accepted('c2', 'h2')];
    const { plan, results } = runPlan(batch, new Map(), new Map(), 500);
    expect(plan.fresh.map((f) => f.event)).toEqual([batch[0], batch[1], batch[3]]);
    expect(results.map((r) => r.seq)).toEqual([500, 501, 501, 502]);
  });
});

describe('callKeysToLoad', () => {
  it('lists each call of the batch once, per source, leaving out quarantined events', () => {
    const batch = [
      accepted('c1', 'h1', { type: 'start_call' }), accepted('c1', 'h2'), accepted('c1', 'h3', { sourceId: srcB }),
      accepted('c2', 'h4', { type: 'other' }), quarantined('hq', 'cq'), stale('c3'),
    ];
    expect(callKeysToLoad(batch)).toEqual([
      { sourceId: srcA, callId: 'c1' }, { sourceId: srcB, callId: 'c1' }, { sourceId: srcA, callId: 'c2' }, { sourceId: srcA, callId: 'c3' },
    ]);
  });
});

describe('call.stale', () => {
  const inProgressCall = mergeCall(null, srcA, 'c1', callEventOf('start_call', { widget_key: 'w' }, 500));

  it('marks a call still in progress as stale and carries the call after it', () => {
    const { calls, results } = runPlan([stale('c1')], new Map(), new Map([[callKey(srcA, 'c1'), inProgressCall]]));
    expect(calls).toEqual([{ ...inProgressCall, status: 'stale' }]);
    expect(results[0]).toMatchObject({ duplicate: false, seq: 100, call: { status: 'stale', event_count: 1 } });
  });

  it('is skipped, storing nothing, when an end_call came first (in the batch or before it)', () => {
    const { plan, calls, results } = runPlan([accepted('c1', 'h1', { payload: { call_status: 'answered' } }), stale('c1')], new Map(), new Map([[callKey(srcA, 'c1'), inProgressCall]]));
    expect(plan.fresh).toHaveLength(1);
    expect(results[1]).toMatchObject({ skipped: true, call: { status: 'answered' } });
    expect(calls.map((c) => c.status)).toEqual(['answered']);
    expect(runPlan([stale('gone')]).results[0]).toMatchObject({ skipped: true, call: null });
  });
});

describe('queueOutbox', () => {
  const everything = { id: 'dst_all' as DestinationId, eventTypes: null, widgetKeys: null, callStatuses: null };
  const endedOnly = { id: 'dst_end' as DestinationId, eventTypes: ['call.ended'], widgetKeys: null, callStatuses: null };
  const widgetW = { id: 'dst_w' as DestinationId, eventTypes: null, widgetKeys: ['w'], callStatuses: ['answered'] };

  it('makes one pending delivery per fresh relayed event and matching destination, ordered by call', () => {
    const batch = [
      accepted('c1', 'h1', { type: 'start_call', payload: { widget_key: 'w' }, at: 10 }),
      accepted('c1', 'h2', { payload: { widget_key: 'w', call_status: 'answered' }, at: 11 }),
      accepted('c1', 'h2'), // a duplicate: no delivery
      quarantined(),
      accepted('c2', 'h3', { type: 'other', at: 12 }),
    ];
    const { plan, seqs, results } = runPlan(batch);
    const rows = queueOutbox(plan, seqs, [everything, endedOnly, widgetW]);
    // Each result says how many deliveries it queued (the worker is woken only when some were).
    expect(results.map((r) => r.queued)).toEqual([1, 3, undefined, undefined, 1]);
    expect(rows.map((r) => [r.destination_id, r.event_seq])).toEqual([
      ['dst_all', 100], ['dst_all', 101], ['dst_end', 101], ['dst_w', 101], ['dst_all', 103],
    ]);
    expect(rows[0]).toMatchObject({ status: 'pending', attempts: 0, next_attempt_at: 10, order_key: `call ${callKey(srcA, 'c1')}`, event_id: batch[0]!.id });
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it('sends operational events only to destinations that list them, never to the one they are about', () => {
    const failed = (about: string): NewEvent => ({
      ...stale('x'), callId: null, type: 'switchboard.delivery.failed', body: Buffer.from(JSON.stringify({ destination_id: about })),
    });
    const listing = { id: 'dst_ops' as DestinationId, eventTypes: ['switchboard.delivery.failed'], widgetKeys: null, callStatuses: null };
    const { plan, seqs } = runPlan([failed('dst_other'), failed('dst_ops')]);
    const rows = queueOutbox(plan, seqs, [everything, listing]);
    expect(rows.map((r) => [r.destination_id, r.event_seq])).toEqual([['dst_ops', 100]]);
    expect(rows[0]!.order_key).toMatch(/^event evt_/);
  });
});

describe('merging into calls', () => {
  it('merges the events of one call in arrival order and returns the call once', () => {
    const batch = [
      accepted('c1', 'h1', { type: 'end_call', payload: { call_status: 'answered', widget_name: 'from end' }, at: 2_000 }),
      accepted('c1', 'h2', { type: 'start_call', payload: { widget_name: 'from start', timezone: 'UTC' }, at: 3_000 }),
    ];
    const { calls, results } = runPlan(batch);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ call_id: 'c1', status: 'answered', widget_name: 'from end', timezone: 'UTC', event_count: 2 });
    // each result carries the call as it was right after that event
    expect(results[0]!.call).toMatchObject({ status: 'answered', event_count: 1, timezone: null });
    expect(results[1]!.call).toBe(calls[0]);
  });

  it('merges onto the stored call', () => {
    const existing = mergeCall(null, srcA, 'c1', callEventOf('start_call', { widget_name: 'stored' }, 500));
    const { calls } = runPlan([accepted('c1', 'h1', { payload: { call_status: 'missed' }, at: 2_000 })], new Map(), new Map([[callKey(srcA, 'c1'), existing]]));
    expect(calls[0]).toMatchObject({ widget_name: 'stored', status: 'missed', event_count: 2, first_event_at: 500, last_event_at: 2_000 });
  });

  it('keeps calls of different sources apart', () => {
    const { calls } = runPlan([accepted('c1', 'h1', { payload: { call_status: 'a' } }), accepted('c1', 'h1', { sourceId: srcB, payload: { call_status: 'b' } })]);
    expect(calls.map((c) => [c.source_id, c.status])).toEqual([[srcA, 'a'], [srcB, 'b']]);
  });

  it('does not merge duplicates or events without a call', () => {
    const stored: Stored = { id: 'evt_000000000storedstored' as EventId, seq: 7 };
    const batch = [accepted('c1', 'h1', { payload: { call_status: 'x' } }), accepted('c1', 'h1'), accepted('c2', 'h2'), accepted('c3', 'h3', { type: 'other' }), quarantined()];
    const { calls, results } = runPlan(batch, new Map([[eventKey(srcA, 'h2'), stored]]));
    expect(calls.map((c) => [c.call_id, c.event_count])).toEqual([['c1', 1]]);
    // the unknown type carries no call (c3 does not exist), duplicates and quarantine none
    expect(results.map((r) => r.call === null)).toEqual([false, true, true, true, true]);
  });

  it('gives an event of an unknown type the call as it stands, without changing it', () => {
    const existing = mergeCall(null, srcA, 'c1', callEventOf('start_call', { widget_name: 'stored' }, 500));
    const { calls, results } = runPlan([accepted('c1', 'h9', { type: 'other' })], new Map(), new Map([[callKey(srcA, 'c1'), existing]]));
    expect(calls).toEqual([]);
    expect(results[0]!.call).toBe(existing);
  });
});

describe('callText', () => {
  it('stores exactly the JSON of each record and the row callToRow makes, whatever the record holds', () => {
    const existing = mergeCall(null, srcA, 'c2', callEventOf('start_call', { lead: { lead_phone: '+1', note: '"lead":null,"agent":null' } }, 500));
    const batch = [
      accepted('c1', 'h1', { type: 'start_call', payload: { lead: { lead_phone: '+1 555', custom_params: { '"lead":null': 'x\\' } }, agent: { id: 7, name: 'A "b"' } } }),
      accepted('c1', 'h2', { payload: { call_status: 'answered', agent: { email: 'a@b' } }, at: 2_000 }),
      accepted('c3', 'h4', { type: 'other' }),
      // the stored call, still in progress, made stale: a record the size bound did not see
      stale('c2'),
      quarantined(),
    ];
    const { plan } = runPlan(batch, new Map(), new Map([[callKey(srcA, 'c2'), existing]]));
    const { callAfter, callRow } = callText(plan, 'object');
    expect(callAfter).toEqual(plan.fresh.map((f) => (f.callAfter ? JSON.stringify(f.callAfter) : null)));
    expect(callAfter.filter((j) => j !== null)).toHaveLength(3);
    expect(plan.touched).toHaveLength(2);
    for (const call of plan.touched) expect(callRow(call)).toEqual(callToRow(call));

    // The tuple form (SQLite's) is read back as the same record, its keys in the same order, and is shorter;
    // the call rows do not depend on the form.
    const tuples = callText(plan, 'tuple');
    expect(tuples.callAfter.map((t) => (t === null ? null : JSON.stringify(callRecordOf(t))))).toEqual(callAfter);
    for (const [i, t] of tuples.callAfter.entries()) if (t !== null) expect(t.length).toBeLessThan(callAfter[i]!.length * 0.7);
    for (const call of plan.touched) expect(tuples.callRow(call)).toEqual(callToRow(call));
  });

  it('stores every field of the record in the tuple form, and reads the object form as it was written', () => {
    // Every field set to a value of its own, so that two fields read from each other's place would show.
    const merged = mergeCall(null, srcA, 'c1', callEventOf('end_call', { lead: { a: 1 }, agent: { id: 9 } }, 1));
    const distinct = Object.fromEntries(Object.keys(merged).map((k, i) => [k, k === 'lead' ? { l: i } : k === 'agent' ? { g: i } : k === 'is_delayed_call' ? true : `v${i}`])) as unknown as CallState;
    const tuple = callJson(distinct, undefined, 'tuple').record;
    expect(JSON.parse(tuple)).toHaveLength(Object.keys(merged).length);
    expect(JSON.stringify(callRecordOf(tuple))).toBe(JSON.stringify(distinct));
    expect(JSON.stringify(callRecordOf(JSON.stringify(merged)))).toBe(JSON.stringify(merged));
    const nulls = { ...merged, lead: null, agent: null, is_delayed_call: null };
    expect(callRecordOf(callJson(nulls, undefined, 'tuple').record)).toEqual(nulls);
  });

  it('serialises a record whose keys are in another order whole', () => {
    const merged = mergeCall(null, srcA, 'c1', callEventOf('end_call', { lead: { a: 1 }, agent: { b: 2 } }, 1));
    const { lead, agent, ...rest } = merged;
    const reordered = { lead, ...rest, agent } as CallState;
    expect(callJson(reordered).record).toBe(JSON.stringify(reordered));
    expect(callJson(merged).record).toBe(JSON.stringify(merged));
  });
});
