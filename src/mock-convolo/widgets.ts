/**
 * The widgets the mock knows, each with its API key (Convolo: the widget key is on the widget's "Main" tab,
 * the API key is set up under "Integrations"). From `--widget key:apiKey[:name]` flags, a JSON file, or,
 * with neither, one generated widget so that the mock works out of the box.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MockError } from './errors.js';

export interface Widget {
  key: string;
  apiKey: string;
  name: string;
  /** Convolo's account id, sent as `user_id` in webhooks. */
  userId: number;
  /** The account's time zone, sent as `timezone`. */
  timezone: string;
}

export interface WidgetRegistry {
  readonly widgets: readonly Widget[];
  /** The widget a request names, if its API key matches; otherwise a MockError (unknown_widget, invalid_api_key). */
  authenticate(widgetKey: string, apiKey: string): Widget;
  /** The widgets whose API key this is (the call list's scope), compared in constant time; empty when none. */
  widgetsOfApiKey(apiKey: string): Widget[];
}

const defaults = { userId: 12345, timezone: 'Europe/Stockholm' };

/**
 * A registry over the given widgets (at least one; keys unique).
 *
 * @example
 * const registry = createWidgetRegistry([parseWidgetFlag('38a7f82ff7f9934294af18b05ae2df38:secret:Sales')]);
 * registry.authenticate('38a7f82ff7f9934294af18b05ae2df38', 'secret').name; // 'Sales'
 */
export function createWidgetRegistry(widgets: readonly Widget[]): WidgetRegistry {
  if (widgets.length === 0) throw new Error('mock-convolo needs at least one widget');
  const byKey = new Map<string, Widget>();
  for (const widget of widgets) {
    if (byKey.has(widget.key)) throw new Error(`widget key ${widget.key} is given twice`);
    byKey.set(widget.key, widget);
  }
  return {
    widgets: [...widgets],
    authenticate(widgetKey, apiKey) {
      const widget = byKey.get(widgetKey);
      if (!widget) throw new MockError('unknown_widget', { field: 'widget_key' });
      // Compared as digests so that the comparison takes the same time whatever the lengths and however
      // much of a guessed key matches.
      if (!timingSafeEqual(digest(apiKey), digest(widget.apiKey))) {
        throw new MockError('invalid_api_key', { field: 'api_key' });
      }
      return widget;
    },
    widgetsOfApiKey(apiKey) {
      const given = digest(apiKey);
      // Every widget is compared, whichever matches, so the time says nothing about which did.
      return widgets.filter((w) => timingSafeEqual(given, digest(w.apiKey)));
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Reads one `--widget key:apiKey[:name]` flag. The name may itself contain colons.
 *
 * @example
 * parseWidgetFlag('w1:k1:Sales team').name; // 'Sales team'
 */
export function parseWidgetFlag(flag: string): Widget {
  const [key, apiKey, ...rest] = flag.split(':');
  if (!key || !apiKey) throw new Error(`--widget ${JSON.stringify(flag)}: expected <widgetKey>:<apiKey>[:<name>]`);
  return widget({ key, apiKey, name: rest.length > 0 ? rest.join(':') : undefined });
}

/**
 * Reads widgets from a JSON file: an array of `{ key, apiKey, name?, userId?, timezone? }`, or an object
 * `{ "widgets": [ … ] }`.
 *
 * @example
 * // widgets.json: [{ "key": "w1", "apiKey": "k1", "name": "Sales" }]
 * const widgets = loadWidgetFile('widgets.json');
 */
export function loadWidgetFile(path: string): Widget[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`--config ${path}: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { widgets?: unknown } | null)?.widgets;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`--config ${path}: expected a non-empty array of widgets, or { "widgets": [...] }`);
  return list.map((entry: unknown, index) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.key !== 'string' || e.key === '' || typeof e.apiKey !== 'string' || e.apiKey === '') {
      throw new Error(`--config ${path}: widget ${index} needs a non-empty "key" and "apiKey"`);
    }
    return widget({
      key: e.key,
      apiKey: e.apiKey,
      name: typeof e.name === 'string' ? e.name : undefined,
      userId: typeof e.userId === 'number' ? e.userId : undefined,
      timezone: typeof e.timezone === 'string' ? e.timezone : undefined,
    });
  });
}

/**
 * A fresh widget with a key shaped like Convolo's (32 hex characters) and a random API key (hex too: a
 * base64url key could start with '-', which a command line then reads as an option).
 *
 * @example
 * const { key, apiKey } = generateWidget();
 */
export function generateWidget(): Widget {
  return widget({ key: randomBytes(16).toString('hex'), apiKey: randomBytes(24).toString('hex'), name: 'Mock widget' });
}

function widget(w: { key: string; apiKey: string; name?: string | undefined; userId?: number | undefined; timezone?: string | undefined }): Widget {
  return { key: w.key, apiKey: w.apiKey, name: w.name ?? `Widget ${w.key.slice(0, 6)}`, userId: w.userId ?? defaults.userId, timezone: w.timezone ?? defaults.timezone };
}
