import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFaker } from '../simulate/roster.js';
import { outcomes, planTimeline } from './timeline.js';

function seeded(seed: number) {
  const f = createFaker();
  f.seed(seed);
  return f;
}

describe('planTimeline', () => {
  it('orders the moments and makes every duration the difference of its moments, whatever the seed and outcome', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom(...outcomes, 'random' as const), (seed, choice) => {
        const t = planTimeline(choice, seeded(seed));
        if (choice !== 'random') expect(t.outcome).toBe(choice);
        const agent = t.agentAnsweredSec;
        const lead = t.leadAnsweredSec;
        expect(t.dialDelaySec).toBeGreaterThan(0);
        expect(t.endedSec).toBeGreaterThan(0);
        expect(t.totalDurationSec).toBe(t.endedSec);
        expect(t.totalDurationSec).toBe(t.answerDurationSec + t.leadAnswerDurationSec + t.talkDurationSec + (lead === null ? t.endedSec - (agent ?? 0) : 0));
        if (t.outcome === 'answered') {
          expect(agent).not.toBeNull();
          expect(lead).not.toBeNull();
          expect(0 <= agent! && agent! <= lead! && lead! <= t.endedSec).toBe(true);
          expect(t.answerDurationSec).toBe(agent);
          expect(t.leadAnswerDurationSec).toBe(lead! - agent!);
          expect(t.talkDurationSec).toBe(t.endedSec - lead!);
          expect(t.talkDurationSec).toBeGreaterThan(0);
          expect(['agent', 'lead']).toContain(t.disconnectedBy);
        } else {
          expect(lead).toBeNull();
          expect(t.talkDurationSec).toBe(0);
          expect(t.leadAnswerDurationSec).toBe(0);
          expect(t.disconnectedBy).toBe('system');
          if (t.outcome === 'agent_not_answering') {
            expect(agent).toBeNull();
            expect(t.answerDurationSec).toBe(0);
          } else {
            expect(t.answerDurationSec).toBe(agent);
            expect(agent!).toBeLessThan(t.endedSec);
          }
        }
      }),
    );
  });

  it('replays the same calls for the same seed', () => {
    const a = seeded(7);
    const b = seeded(7);
    const plans = (f: ReturnType<typeof seeded>) => Array.from({ length: 20 }, () => planTimeline('random', f));
    expect(plans(a)).toEqual(plans(b));
  });

  it('draws every outcome under random', () => {
    const f = seeded(1);
    const seen = new Set(Array.from({ length: 200 }, () => planTimeline('random', f).outcome));
    expect([...seen].sort()).toEqual([...outcomes].sort());
  });
});
