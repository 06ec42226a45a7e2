import type { Faker } from '@faker-js/faker';
import { createFaker, createRoster, type Roster, type Widget } from './roster.js';
import { pickOutcome, speedToLeadSec, timelineOf, type Scenario, type Timeline } from './outcome.js';

/**
 * The pure, seeded generator of Convolo traffic: for each call a `start_call` and an `end_call` shaped
 * exactly like Convolo's documented examples (shared/fixtures/convolo: same fields, same order).
 *
 * Repeatable by construction: call `i` is drawn from a Faker seeded `[seed, i]` and its times count from
 * `start`, never from the clock, so the same (seed, scenario, start) gives byte-identical payloads, and
 * call `i` is the same whether 5 or 5,000 calls are generated.
 */

export interface GeneratorOptions {
  seed: number;
  scenario: Scenario;
  /** Epoch ms the first call starts at (whole seconds are kept: Convolo's times end in `.000Z`). */
  start: number;
}

export interface SimulatedCall {
  index: number;
  callId: string;
  outcome: Timeline['outcome'];
  delayed: boolean;
  timeline: Timeline;
  /** The bodies as they go on the wire. */
  startCall: string;
  endCall: string;
}

export interface Generator {
  roster: Roster;
  call(index: number): SimulatedCall;
}

/**
 * Call `i` starts `i × callSpacingSec` seconds after the base time (plus up to as much again, at random),
 * in the payloads' time; sending is paced by `--rate` instead.
 *
 * @example
 * Date.parse(JSON.parse(generator.call(2).endCall).time_started_iso_string) - start; // 60 000 … 89 000 ms
 */
export const callSpacingSec = 30;
/** In `mix`, this share of calls are delayed ones (scheduled for later, e.g. a lead who came in at night). */
const mixDelayedShare = 0.1;

/**
 * @example
 * const generator = createGenerator({ seed: 1, scenario: 'mix', start: Date.parse('2026-01-05T08:00:00Z') });
 * const call = generator.call(0);
 * JSON.parse(call.endCall).call_status; // 'answered', or another outcome; always the same for seed 1
 */
export function createGenerator(options: GeneratorOptions): Generator {
  const roster = createRoster(options.seed);
  const f = createFaker();
  const start = Math.floor(options.start / 1000) * 1000;
  return {
    roster,
    call(index) {
      f.seed([options.seed, index]);
      const callId = f.string.hexadecimal({ length: 32, casing: 'lower', prefix: '' });
      const widget = f.helpers.arrayElement(roster.widgets);
      const delayed = options.scenario === 'delayed' || (options.scenario === 'mix' && f.datatype.boolean({ probability: mixDelayedShare }));
      const timeline = timelineOf(f, pickOutcome(f, options.scenario));
      const startedAt = start + (index * callSpacingSec + f.number.int({ min: 0, max: callSpacingSec - 1 })) * 1000;
      const lead = leadOf(f, widget, startedAt - speedToLeadSec(f, delayed) * 1000);
      const agent = timeline.agentAnswered ? f.helpers.arrayElement(roster.agents) : null;
      const common = { call_id: callId, user_id: roster.userId, widget_key: widget.key, widget_name: widget.name };
      const startCall = {
        type: 'start_call', ...common, timezone: widget.market.timezone, is_delayed_call: delayed,
        called_lead_phone: lead.lead_phone, lead, debug: null,
      };
      const agentAt = timeline.agentAnswered ? startedAt + timeline.answerSec * 1000 : null;
      const leadAt = agentAt !== null && timeline.leadAnswered ? agentAt + timeline.leadAnswerSec * 1000 : null;
      const endCall = {
        type: 'end_call', ...common, call_status: timeline.outcome, timezone: widget.market.timezone,
        time_started_iso_string: iso(startedAt), time_agent_answered_iso_string: iso(agentAt),
        time_lead_answered_iso_string: iso(leadAt), time_ended_iso_string: iso(startedAt + timeline.totalSec * 1000),
        is_delayed_call: delayed, answer_duration_sec: timeline.answerSec, lead_answer_duration_sec: timeline.leadAnswerSec,
        talk_duration_sec: timeline.talkSec, total_duration_sec: timeline.totalSec, disconnected_by: timeline.disconnectedBy,
        recording_link: timeline.leadAnswered ? `https://recordings.example.com/${widget.key}/${callId}.mp3` : null,
        called_lead_phone: lead.lead_phone, agent, lead, debug: null,
      };
      return { index, callId, outcome: timeline.outcome, delayed, timeline, startCall: JSON.stringify(startCall), endCall: JSON.stringify(endCall) };
    },
  };
}

const campaigns = ['spring_promo', 'brand', 'retargeting', 'webinar', 'free_trial'];
const paths = ['/', '/pricing', '/demo', '/contact', '/features', '/blog/speed-to-lead'];
const channels = [
  { utm_source: 'google', utm_medium: 'cpc', referer: 'https://www.google.com/' },
  { utm_source: 'facebook', utm_medium: 'social', referer: 'https://l.facebook.com/' },
  { utm_source: 'linkedin', utm_medium: 'social', referer: 'https://www.linkedin.com/' },
  { utm_source: 'newsletter', utm_medium: 'email', referer: '' },
];

/** The lead as Convolo sends it; name and email go in `additional`, the field Convolo leaves open. */
function leadOf(f: Faker, widget: Widget, createdAt: number) {
  const firstName = f.person.firstName();
  const lastName = f.person.lastName();
  const channel = f.helpers.arrayElement(channels);
  // CRM-ish parameters, as an integration passes them through `lc_param_<name>`; not every lead has all.
  const custom_params: Record<string, string> = { utm_source: channel.utm_source, utm_medium: channel.utm_medium };
  if (f.datatype.boolean({ probability: 0.7 })) custom_params.utm_campaign = f.helpers.arrayElement(campaigns);
  if (f.datatype.boolean({ probability: 0.6 })) custom_params.deal_id = f.string.numeric({ length: 8, allowLeadingZeros: false });
  if (f.datatype.boolean({ probability: 0.4 })) custom_params.crm_contact_id = `C-${f.string.alphanumeric({ length: 10, casing: 'upper' })}`;
  return {
    lead_phone: widget.market.phone(f),
    lead_id: f.string.ulid({ refDate: createdAt }),
    time_created_iso_string: iso(createdAt),
    source: f.helpers.weightedArrayElement([{ value: 'widget', weight: 6 }, { value: 'api', weight: 3 }, { value: 'zapier', weight: 1 }]),
    site_path: f.helpers.arrayElement(paths),
    referer: channel.referer,
    ip: f.internet.ipv4(),
    country: widget.market.country,
    additional: { name: `${firstName} ${lastName}`, email: f.internet.email({ firstName, lastName, provider: 'example.org' }).toLowerCase() },
    custom_params,
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
