import { isUtcDay } from '../../../src/domain/calendar.js';
import { localMidnight } from '../../../src/domain/stats.js';
import { locationStore, setQuery } from './router.js';
import { createStore, useStore } from './store.js';

const storageKey = 'switchboard.tz';

export function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function initial(): string {
  const fromUrl = locationStore.get().query.get('tz');
  if (fromUrl && isZone(fromUrl)) return fromUrl;
  const saved = localStorage.getItem(storageKey);
  return saved && isZone(saved) ? saved : browserZone;
}

/**
 * The zone times are shown and days are cut in: `?tz=` when the URL has one (a shared link keeps it),
 * else the last one picked on this browser, else the browser's.
 */
export const zoneStore = createStore(initial());

locationStore.subscribe((loc) => {
  const fromUrl = loc.query.get('tz');
  if (fromUrl && isZone(fromUrl)) zoneStore.set(fromUrl);
});

export function chooseZone(zone: string): void {
  if (!isZone(zone)) return;
  localStorage.setItem(storageKey, zone);
  zoneStore.set(zone);
  setQuery({ tz: zone === browserZone ? null : zone }, { replace: true });
}

export function useZone(): string {
  return useStore(zoneStore);
}

/** Zones offered in the picker: the browser's, UTC, and every zone the platform knows. */
export function zoneChoices(): string[] {
  const all = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return [...new Set([browserZone, 'UTC', ...all])];
}

const day = 86_400_000;
/** `date` (YYYY-MM-DD) moved by `days` calendar days (past 9999-12-31 it is no date: `isDate` says so). */
export const addDays = (date: string, days: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + days * day).toISOString().slice(0, 10);
/** A day of the calendar written YYYY-MM-DD (not 2026-02-30, not 2026-13-01). */
export function isDate(v: string | null | undefined): v is string {
  return typeof v === 'string' && isUtcDay(v);
}

/** The calendar date (YYYY-MM-DD) of `ms` in `zone`. */
export function dateIn(ms: number, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(ms);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * The instant `date` (YYYY-MM-DD) begins in `zone`: the server's own rule (domain/stats.ts), so a day is cut
 * where `/v1/stats` cuts it, a day whose midnight the zone skips (a DST change at 00:00) included.
 */
export const midnightIn = (date: string, zone: string): number => localMidnight(date, zone);
