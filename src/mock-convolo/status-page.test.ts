import { describe, expect, it } from 'vitest';
import type { CallRecord } from './call-runner.js';
import { maskPhone, maskUrl } from './mask.js';
import { renderStatusPage } from './status-page.js';
import { createWidgetRegistry, parseWidgetFlag } from './widgets.js';

const hostile = '<script>alert("x")</script>';

describe('the status page', () => {
  it('escapes what callers and configuration put in it, and shows no full phone number or token', () => {
    const record: CallRecord = {
      call_id: 'a'.repeat(32), requested_at: '2026-03-01T10:00:00.000Z', widget_key: 'w1', widget_name: hostile,
      lead_phone: maskPhone('+46701234567'), outcome: 'answered', state: 'ended', custom_param_names: [`x${hostile}`],
      webhooks: { start_call: { status: 200, attempts: [], done: true }, end_call: { status: 503, attempts: [{ at: '', status: 503, error: null, durationMs: 1 }, { at: '', status: 503, error: null, durationMs: 1 }], done: true } },
    };
    const html = renderStatusPage({ baseUrl: 'http://127.0.0.1:1', webhookUrl: 'http://127.0.0.1:8787/hooks/convolo/sbt_secretsecretsecret', legacyFormat: false, widgets: [parseWidgetFlag(`w1:k1:${hostile}`)], calls: [record] });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toContain('46701234567');
    expect(html).toContain('+46•••••••67');
    expect(html).not.toContain('sbt_secretsecretsecret');
    expect(html).toContain('503 (2 attempts)');
    expect(html).not.toContain('k1');
  });

  it('says how many end_call webhooks were dropped on purpose, and which, only when dropping', () => {
    const record: CallRecord = {
      call_id: 'b'.repeat(32), requested_at: '2026-03-01T10:00:00.000Z', widget_key: 'w1', widget_name: 'Sales',
      lead_phone: maskPhone('+46701234567'), outcome: 'answered', state: 'ended', custom_param_names: [],
      webhooks: { start_call: { status: 200, attempts: [], done: true }, end_call: { status: null, attempts: [], done: true, dropped: true } },
    };
    const input = { baseUrl: 'http://127.0.0.1:1', webhookUrl: 'http://127.0.0.1:8787/hooks', legacyFormat: false, widgets: [parseWidgetFlag('w1:k1:Sales')], calls: [record] };
    const dropping = renderStatusPage({ ...input, dropped: { rate: 0.2, count: 1 } });
    expect(dropping).toContain('Dropping 20 % of end_call webhooks on purpose');
    expect(dropping).toContain('<strong>1</strong> dropped so far');
    expect(dropping).toContain('<td>dropped on purpose</td>');
    expect(dropping).toContain('/api/v2/calls/payload-data-list?api-key=…');
    expect(renderStatusPage({ ...input, dropped: { rate: 0, count: 0 } })).not.toContain('Dropping');
  });

  it('masks phone numbers and URL tokens', () => {
    expect(maskPhone('+1 (415) 555-0100')).toBe('+14•••••••00');
    expect(maskPhone('0701234567')).toBe('07••••••67');
    expect(maskUrl('http://h:1/hooks/convolo/sbt_AbCdEfGhIjKl?x=1')).toBe('http://h:1/hooks/convolo/sbt_AbCd…?…');
  });
});

describe('widgets', () => {
  const registry = createWidgetRegistry([parseWidgetFlag('w1:k1:Sales: EMEA'), parseWidgetFlag('w2:k2')]);

  it('authenticate a widget by its key and API key', () => {
    expect(registry.authenticate('w1', 'k1').name).toBe('Sales: EMEA');
    expect(registry.authenticate('w2', 'k2').name).toBe('Widget w2');
  });

  it('refuse an unknown widget and another widget\'s API key', () => {
    expect(() => registry.authenticate('w3', 'k1')).toThrow(expect.objectContaining({ code: 'unknown_widget', status: 404 }));
    expect(() => registry.authenticate('w1', 'k2')).toThrow(expect.objectContaining({ code: 'invalid_api_key', status: 401 }));
    expect(() => registry.authenticate('w1', 'k1-and-more')).toThrow(expect.objectContaining({ code: 'invalid_api_key' }));
  });

  it('refuse malformed flags and duplicate keys', () => {
    expect(() => parseWidgetFlag('only-a-key')).toThrow(/expected <widgetKey>:<apiKey>/);
    expect(() => createWidgetRegistry([parseWidgetFlag('w:k'), parseWidgetFlag('w:k2')])).toThrow(/given twice/);
  });
});
