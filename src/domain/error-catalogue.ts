/**
 * The machinery of an error catalogue (after Fastify's `lib/errors.js`), shared by the API's (errors.ts) and
 * the mock Convolo's (mock-convolo/errors.ts). An entry names one way a request is refused: its HTTP status,
 * its message as a template whose `{slots}` are filled from typed parameters, the stable `code` clients read
 * (the entry's own name, unless it words a more general code more precisely: `no_such_id` is a `not_found`),
 * and `retryAfterSec` when the answer tells the sender to come back (Retry-After) because nothing was kept.
 */
export interface ErrorEntry {
  readonly status: number;
  readonly message: string;
  readonly code?: string;
  readonly retryAfterSec?: number;
}

export type Catalogue = Readonly<Record<string, ErrorEntry>>;

/**
 * The slots of a template: `{name}` where the name is a word, so literal braces (a JSON example) are none.
 *
 * @example
 * type S = Slots<'No {what} has this {key}.'>; // 'what' | 'key'
 */
export type Slots<T extends string> = T extends `${string}{${infer P}}${infer Rest}`
  ? (P extends `${string}${'"' | ' ' | ':' | ',' | '.' | '-' | '{'}${string}` | '' ? never : P) | Slots<Rest>
  : never;

/** A template's parameters, by slot. */
export type MessageParams<T extends string> = { readonly [P in Slots<T>]: string | number };

/**
 * What an entry needs besides its name: `params` when its template has slots (then required), and `more`
 * (the cause, the extra body fields…) as the catalogue's error class takes them.
 */
export type EntryOptions<E extends ErrorEntry, More> = [Slots<E['message']>] extends [never]
  ? [options?: More & { params?: undefined }]
  : [options: More & { params: MessageParams<E['message']> }];

/** The codes clients read: each entry's `code`, else its name. */
export type CodeOf<C extends Catalogue> = { [K in keyof C]: C[K] extends { code: infer X extends string } ? X : K }[keyof C] & string;

const slot = /\{([A-Za-z_]\w*)\}/g;

/**
 * `template` with each `{slot}` replaced by its parameter.
 *
 * @example
 * fillTemplate('No {what} has this id.', { what: 'destination' }); // 'No destination has this id.'
 */
export function fillTemplate(template: string, params: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(slot, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/**
 * An error made from a catalogue entry: `kind` is the entry's name, `code` what clients read.
 *
 * @example
 * class MyError extends CatalogueError<'nope'> {}
 */
export class CatalogueError<Code extends string = string> extends Error {
  readonly kind: string;
  readonly code: Code;
  readonly status: number;
  /** Seconds for the answer's Retry-After; undefined when it has none. */
  readonly retryAfterSec: number | undefined;

  constructor(entry: { kind: string; code: Code; status: number; message: string; retryAfterSec: number | undefined }, options?: ErrorOptions) {
    super(entry.message, options);
    this.kind = entry.kind;
    this.code = entry.code;
    this.status = entry.status;
    this.retryAfterSec = entry.retryAfterSec;
  }
}

/**
 * A catalogue with what its error classes need: `resolve` fills an entry's template (the classes type its
 * parameters with `EntryOptions`), `codes` lists what clients may read (for the test that each is documented).
 * An entry that words another code must answer as that code's own entry does (status, Retry-After): a
 * client that branches on the code sees one behaviour per code.
 *
 * @example
 * const errors = defineErrors({ no_such_id: { code: 'not_found', status: 404, message: 'No {what} has this id.' } });
 * errors.resolve('no_such_id', { what: 'widget' }); // { kind: 'no_such_id', code: 'not_found', status: 404, message: 'No widget has this id.', … }
 */
export function defineErrors<const C extends Catalogue>(catalogue: C) {
  type Kind = keyof C & string;
  const codeOf = (kind: Kind) => (catalogue[kind]!.code ?? kind) as CodeOf<C>;
  for (const [kind, entry] of Object.entries(catalogue)) {
    const general = catalogue[entry.code ?? kind];
    if (general?.status !== entry.status || general.retryAfterSec !== entry.retryAfterSec) {
      throw new Error(`error ${kind} answers ${entry.code}, which needs an entry of its own with the same status and retryAfterSec`);
    }
  }
  return {
    catalogue,
    codes: [...new Set(Object.keys(catalogue).map(codeOf))],
    resolve(kind: Kind, params?: Readonly<Record<string, string | number>>) {
      const entry = catalogue[kind]!;
      return { kind, code: codeOf(kind), status: entry.status, message: fillTemplate(entry.message, params), retryAfterSec: entry.retryAfterSec };
    },
  };
}
