import { describe, expect, it } from 'vitest';
import { callEnvelopes, envelopeOf } from '../../test/support/sdk-events.js';
import { assertEnvelope, validateEnvelope } from './envelope.js';
import { ValidationError } from './validate.js';

const { started, ended } = callEnvelopes();

describe('validateEnvelope', () => {
  it('accepts the envelopes the server builds: call events, operational events and a new Convolo type', () => {
    const operational = envelopeOf({ destination_id: 'dst_1', reason: 'the destination answered 410 Gone' }, { type: 'switchboard.destination.disabled', status: 'system' });
    const other = envelopeOf({ type: 'call_transferred', call_id: 'c9' });
    for (const json of [started, ended, operational.json, other.json]) {
      const result = validateEnvelope(JSON.parse(json));
      expect(result).toEqual({ ok: true, value: JSON.parse(json) });
    }
    expect(JSON.parse(other.json).type).toBe('convolo.call_transferred');
  });

  it('accepts a legacy form post relayed as call.ended (its values are strings)', () => {
    const legacy = envelopeOf({ type: 'end_call', call_id: 'c2', talk_duration_sec: '45', user_id: '12345' });
    expect(validateEnvelope(JSON.parse(legacy.json)).ok).toBe(true);
  });

  it('lists the frame problems with their paths', () => {
    const result = validateEnvelope({ id: '', type: 'CALL ENDED', created_at: 5, source_id: 1, call_id: null, data: [], call: 'x' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.path)).toEqual(['/id', '/type', '/created_at', '/source_id', '/data', '/call']);
  });

  it('requires a call event to carry its call id, the matching Convolo payload and the call record', () => {
    const event = JSON.parse(ended);
    const result = validateEnvelope({ ...event, call_id: null, data: { ...event.data, type: 'start_call' }, call: null });
    expect(!result.ok && result.errors).toEqual([
      { path: '/call_id', message: 'a call.ended event is about a call: expected a string' },
      { path: '/data/type', message: 'a call.ended event carries a end_call payload, got "start_call"' },
      { path: '/call', message: 'a call.ended event carries the call record, got null' },
    ]);
  });

  it('assertEnvelope returns the event or throws a ValidationError', () => {
    expect(assertEnvelope(JSON.parse(started)).type).toBe('call.started');
    expect(() => assertEnvelope(null)).toThrow(ValidationError);
    expect(() => assertEnvelope(null)).toThrow('Invalid Switchboard event: (root) expected an object, got null');
  });
});
