import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { ConvoloEndCall, ConvoloStartCall, isKnownEventType } from './convolo.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/convolo/${name}.json`, import.meta.url), 'utf8'));

describe('Convolo payload schemas', () => {
  it("describe Convolo's documented examples", () => {
    expect(Value.Check(ConvoloStartCall, fixture('start_call'))).toBe(true);
    expect(Value.Check(ConvoloEndCall, fixture('end_call'))).toBe(true);
  });

  it('accept nulls, missing fields and unknown new fields, as real traffic sends them', () => {
    expect(Value.Check(ConvoloEndCall, { type: 'end_call', call_id: 'c', lead: null, agent: null, brand_new: { x: 1 } })).toBe(true);
    expect(Value.Check(ConvoloStartCall, { type: 'start_call', call_id: 'c' })).toBe(true);
  });

  it('tell the two event types apart', () => {
    expect(Value.Check(ConvoloStartCall, fixture('end_call'))).toBe(false);
    expect(isKnownEventType('end_call')).toBe(true);
    expect(isKnownEventType('call_transferred')).toBe(false);
  });
});
