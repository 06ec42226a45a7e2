import type { Static } from '@sinclair/typebox';
import { describe, expectTypeOf, it } from 'vitest';
import type { ConvoloAgent as AgentSchema, ConvoloEndCall as EndCallSchema, ConvoloLead as LeadSchema, ConvoloStartCall as StartCallSchema } from '../src/domain/convolo.js';
import type { CallRecord as ServerCallRecord } from '../src/domain/presenters.js';
import {
  createHandler,
  validateConvoloPayload,
  verifyWebhook,
  type CallRecord,
  type ConvoloAgent,
  type ConvoloLead,
  type ConvoloEndCall,
  type ConvoloOtherEvent,
  type ConvoloStartCall,
  type EventOfType,
  type SwitchboardEvent,
  type WebhookHandlers,
} from '../src/sdk/index.js';

/**
 * The SDK's types, checked by `tsc -p tsconfig.json --noEmit` (this file is in its `include`): each
 * `@ts-expect-error` fails the type check if the line it guards starts compiling. Nothing here does
 * anything at run time; the functions holding the checks are never called.
 */

describe('SDK types', () => {
  it('narrow a handler to its event: call.ended has call_status, call.started has none', () => {
    expectTypeOf<Parameters<NonNullable<WebhookHandlers['call.ended']>>[0]['data']['call_status']>().toEqualTypeOf<string | null | undefined>();
    expectTypeOf<EventOfType<'call.started'>['data']>().toEqualTypeOf<ConvoloStartCall>();
    expectTypeOf<EventOfType<'call.ended'>['call']>().toEqualTypeOf<CallRecord>();
    expectTypeOf<EventOfType<'switchboard.test'>['call']>().toEqualTypeOf<null>();
    expectTypeOf<EventOfType<'convolo.call_transferred'>>().toEqualTypeOf<ConvoloOtherEvent>();
    // Type positions only: these handlers are never called.
    createHandler(
      {
        'call.ended': (event) => expectTypeOf(event.data.call_status).toEqualTypeOf<string | null | undefined>(),
        // @ts-expect-error start_call carries no call_status
        'call.started': (event) => event.data.call_status,
        'convolo.call_transferred': (event) => expectTypeOf(event.data.type).toBeString(),
        '*': (event) => expectTypeOf(event).toEqualTypeOf<SwitchboardEvent>(),
      },
      { secret: 'whsec_x' },
    );
  });

  it('narrow SwitchboardEvent on type', () => {
    expectTypeOf<Extract<SwitchboardEvent, { type: 'call.ended' }>['data']>().toEqualTypeOf<ConvoloEndCall>();
    function read(event: SwitchboardEvent) {
      if (event.type === 'call.ended') return expectTypeOf(event.data.talk_duration_sec).toEqualTypeOf<number | null | undefined>();
      if (event.type === 'switchboard.delivery.failed') return expectTypeOf(event.data.attempts).toBeNumber();
      // @ts-expect-error not narrowed: a started call has no talk time
      return event.data.talk_duration_sec;
    }
    expectTypeOf(read).toBeFunction();
  });

  it('reject an unknown handler key and a handler of the wrong event', () => {
    function misuse() {
      // @ts-expect-error no such event type
      createHandler({ 'call.ende': () => undefined }, { secret: 'whsec_x' });
      // @ts-expect-error a call.started handler does not take a call.ended event
      const wrong: WebhookHandlers = { 'call.started': (event: EventOfType<'call.ended'>) => event };
      // @ts-expect-error the secret is required
      createHandler({}, {});
      return wrong;
    }
    expectTypeOf(misuse).toBeFunction();
  });

  it('let verifyWebhook take raw bodies only, not a parsed object', () => {
    function misuse(parsed: Record<string, unknown>, headers: Record<string, string>) {
      // @ts-expect-error a parsed body cannot be verified
      verifyWebhook(parsed, headers, 'whsec_x');
      verifyWebhook(Buffer.from('{}'), headers, ['whsec_a', 'whsec_b']);
      verifyWebhook('{}', new Headers(headers), 'whsec_x');
      return verifyWebhook(new Uint8Array(), headers, 'whsec_x');
    }
    expectTypeOf(misuse).returns.toEqualTypeOf<SwitchboardEvent>();
  });

  it('type a validated payload by its type', () => {
    const result = validateConvoloPayload({});
    if (result.ok && result.value.type === 'end_call') expectTypeOf(result.value.agent).toEqualTypeOf<ConvoloEndCall['agent']>();
    if (!result.ok) expectTypeOf(result.errors[0]!.path).toBeString();
  });

  it("match the server's own types, so a change on the server that breaks the public types fails here", () => {
    expectTypeOf<ConvoloStartCall>().toMatchTypeOf<Static<typeof StartCallSchema>>();
    expectTypeOf<Static<typeof StartCallSchema>>().toMatchTypeOf<ConvoloStartCall>();
    expectTypeOf<ConvoloEndCall>().toMatchTypeOf<Static<typeof EndCallSchema>>();
    expectTypeOf<Static<typeof EndCallSchema>>().toMatchTypeOf<ConvoloEndCall>();
    // Mutual assignability lets an optional field be added on one side only: the key sets must match too.
    expectTypeOf<keyof ConvoloStartCall>().toEqualTypeOf<keyof Static<typeof StartCallSchema>>();
    expectTypeOf<keyof ConvoloEndCall>().toEqualTypeOf<keyof Static<typeof EndCallSchema>>();
    expectTypeOf<keyof ConvoloLead>().toEqualTypeOf<keyof Static<typeof LeadSchema>>();
    expectTypeOf<keyof ConvoloAgent>().toEqualTypeOf<keyof Static<typeof AgentSchema>>();
    expectTypeOf<ServerCallRecord>().toMatchTypeOf<CallRecord>();
    expectTypeOf<keyof CallRecord>().toEqualTypeOf<keyof ServerCallRecord>();
  });
});
