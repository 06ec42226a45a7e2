import { Faker, base, en } from '@faker-js/faker';

/**
 * The fixed cast of a simulated account — its widgets, agents and markets — drawn once from the seed, so
 * every call of a run (and of a rerun with the same seed) uses the same handful of widget keys and agents,
 * as one Convolo customer's traffic would.
 */

/** A country the simulated leads call from: its zone and a generator of fictional numbers there. */
export interface Market {
  country: string;
  timezone: string;
  /** An E.164 number in a range reserved for fiction, so a simulated number never reaches a real person. */
  phone(f: Faker): string;
}

export interface Widget {
  key: string;
  name: string;
  market: Market;
}

export interface Agent {
  id: number;
  phone: string;
  name: string;
  email: string;
}

export interface Roster {
  userId: number;
  widgets: Widget[];
  agents: Agent[];
}

/**
 * The markets simulated leads come from. The numbers are in ranges set aside for drama and tests:
 * Sweden's PTS 070-1740605…699, Ofcom's 07700 900000…900999 and the North American 555-0100…0199.
 *
 * @example
 * markets[0]!.phone(createFaker()); // '+46701740642'
 */
export const markets: readonly Market[] = [
  { country: 'SE', timezone: 'Europe/Stockholm', phone: (f) => `+46701740${f.number.int({ min: 605, max: 699 })}` },
  { country: 'GB', timezone: 'Europe/London', phone: (f) => `+447700900${f.string.numeric(3)}` },
  { country: 'US', timezone: 'America/New_York', phone: (f) => `+1${f.helpers.arrayElement(['212', '305', '415', '512', '617', '646', '718'])}55501${f.string.numeric(2)}` },
];

const pages = ['Website', 'Pricing page', 'Demo request', 'Facebook lead ads', 'Contact form'];

/**
 * A Faker with English data and its own generator (not the shared `faker` singleton, which others seed).
 *
 * @example
 * const f = createFaker();
 * f.seed([42, 0]);
 * f.person.firstName(); // the same name for the same seed
 */
export function createFaker(): Faker {
  return new Faker({ locale: [en, base] });
}

/**
 * The roster for `seed`: 3–5 widgets (each serving one market), 6–10 agents.
 *
 * @example
 * const roster = createRoster(42);
 * roster.widgets[0]!.key; // 32 hex digits, the same for every run seeded 42
 */
export function createRoster(seed: number): Roster {
  const f = createFaker();
  // A one-element seed array: calls are seeded [seed, index], so the roster never shares a stream with one.
  f.seed([seed]);
  const company = f.company.name();
  const domain = `${f.internet.domainWord()}.example.com`;
  const userId = f.number.int({ min: 10_000, max: 99_999 });
  const widgets = f.helpers.arrayElements(pages, { min: 3, max: 5 }).map((page, i) => ({
    key: f.string.hexadecimal({ length: 32, casing: 'lower', prefix: '' }),
    name: `${company} – ${page}`,
    market: markets[i % markets.length]!,
  }));
  const agents = Array.from({ length: f.number.int({ min: 6, max: 10 }) }, () => {
    const firstName = f.person.firstName();
    const lastName = f.person.lastName();
    return {
      id: f.number.int({ min: 100_000, max: 999_999 }),
      phone: f.helpers.arrayElement(markets).phone(f),
      name: `${firstName} ${lastName}`,
      email: f.internet.email({ firstName, lastName, provider: domain }).toLowerCase(),
    };
  });
  return { userId, widgets, agents };
}
