import { describe, expect, it } from 'vitest';
import type { Destination } from '../domain/destination.js';
import type { DestinationId } from '../domain/ids.js';
import { presentDestination } from './destination-presenters.js';

const destination = (url: string): Destination => ({
  id: 'dst_1' as DestinationId, url, description: null, eventTypes: null, widgetKeys: null, callStatuses: null, headers: null,
  rateLimitPerSec: null, maxConcurrency: null, secret: 'whsec_c2VjcmV0', previousSecrets: [],
  disabledAt: null, disabledReason: null, failingSince: null, pausedAt: null, createdAt: 0, updatedAt: 0,
});
const shown = (url: string, revealCredentials: boolean) => presentDestination(destination(url), { now: 0, revealSecret: false, revealCredentials }).url;

describe('presentDestination: the URL a caller who may not read secrets sees', () => {
  it('replaces userinfo and every query value with [redacted], keeping the names, the path and the fragment', () => {
    expect(shown('https://ann:pa55@hooks.example.com/in?token=abc&x=1#top', false)).toBe('https://[redacted]@hooks.example.com/in?token=[redacted]&x=[redacted]#top');
    expect(shown('https://key@hooks.example.com:8443?a=1', false)).toBe('https://[redacted]@hooks.example.com:8443?a=[redacted]');
    // An @ in the path or query is no userinfo.
    expect(shown('https://hooks.example.com/to/ann@example.com?cc=bob@example.com', false)).toBe('https://hooks.example.com/to/ann@example.com?cc=[redacted]');
    expect(shown('https://hooks.example.com/in', false)).toBe('https://hooks.example.com/in');
  });

  it('replaces a path segment that looks like a credential (a Slack webhook\'s token) with [redacted]', () => {
    expect(shown('https://hooks.slack.com/services/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', false)).toBe('https://hooks.slack.com/services/T024BE7LD/B08K1Q2M3N4/[redacted]');
  });

  it('shows an administrator the URL as stored', () => {
    expect(shown('https://ann:pa55@hooks.example.com/in?token=abc', true)).toBe('https://ann:pa55@hooks.example.com/in?token=abc');
    expect(shown('https://hooks.slack.com/services/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', true)).toBe('https://hooks.slack.com/services/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');
  });
});
