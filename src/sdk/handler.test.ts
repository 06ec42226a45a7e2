import { describe, expect, it, vi } from 'vitest';
import { callEnvelopes, envelopeOf, secret, signed } from '../../test/support/sdk-events.js';
import type { SwitchboardEvent } from './envelope.js';
import { createHandler } from './handler.js';

const { started, ended } = callEnvelopes();
const post = (body: string, headers: Record<string, string> = signed(body)) => new Request('http://localhost/webhooks', { method: 'POST', body, headers });

describe('createHandler', () => {
  it('verifies, calls the handler for the type with the typed event, and answers 200', async () => {
    const seen: string[] = [];
    const handle = createHandler(
      {
        'call.started': (event) => void seen.push(`started ${event.call.status} ${JSON.stringify(event.call.lead?.custom_params)}`),
        'call.ended': async (event) => void seen.push(`ended ${event.data.call_status}`),
      },
      { secret },
    );
    const first = await handle(post(started));
    const second = await handle(post(ended));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.json()).toEqual({ received: true, handled: true });
    expect(seen).toEqual(['started in_progress {"crm_id":"42","campaign":"spring"}', 'ended answered']);
  });

  it("gives '*' the events that have no handler of their own, and acknowledges events nobody handles", async () => {
    const any = vi.fn();
    const ending = vi.fn();
    const handle = createHandler({ 'call.ended': ending, '*': any }, { secret });
    await handle(post(started));
    await handle(post(ended));
    expect(any.mock.calls.map(([e]) => (e as SwitchboardEvent).type)).toEqual(['call.started']);
    expect(ending).toHaveBeenCalledTimes(1);
    const unhandled = await createHandler({}, { secret })(post(started));
    expect(unhandled.status).toBe(200);
    expect(await unhandled.json()).toEqual({ received: true, handled: false });
  });

  it('dispatches a new Convolo type to its convolo.<type> handler', async () => {
    const { json } = envelopeOf({ type: 'call_transferred', call_id: 'c9', to: 'agent 2' });
    const transferred = vi.fn();
    await createHandler({ 'convolo.call_transferred': transferred }, { secret })(post(json));
    expect(transferred.mock.calls[0]![0]).toMatchObject({ type: 'convolo.call_transferred', data: { to: 'agent 2' } });
  });

  it('answers 400 with a JSON error for a bad signature, and never calls the handler', async () => {
    const ending = vi.fn();
    const onError = vi.fn();
    const handle = createHandler({ 'call.ended': ending, onError }, { secret });
    const response = await handle(post(ended.replace('answered', 'missed'), signed(ended)));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_signature', message: expect.stringContaining('No signature matches') });
    const unsigned = await handle(new Request('http://localhost/', { method: 'POST', body: ended }));
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ error: 'missing_headers' });
    expect(ending).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('answers 500 when the handler throws, so that Switchboard retries, and tells onError', async () => {
    const onError = vi.fn();
    const boom = new Error('database down');
    const handle = createHandler({ 'call.ended': () => Promise.reject(boom), onError }, { secret });
    const response = await handle(post(ended));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'handler_failed', message: 'The call.ended handler threw; Switchboard will retry.' });
    expect(onError).toHaveBeenCalledWith(boom, expect.objectContaining({ event: expect.objectContaining({ type: 'call.ended' }) }));
  });

  it('answers 500 when its own secret is malformed (the receiver is misconfigured, the event must come again)', async () => {
    const response = await createHandler({}, { secret: 'whsec_' })(post(ended));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: 'invalid_secret' });
  });

  it('answers 405 to anything but POST', async () => {
    const response = await createHandler({}, { secret })(new Request('http://localhost/webhooks'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('keeps its answer when onError itself throws', async () => {
    const handle = createHandler({ onError: () => { throw new Error('logger broke'); } }, { secret });
    expect((await handle(post('{}', signed('{}', { id: 'evt_1' })))).status).toBe(400);
  });
});
