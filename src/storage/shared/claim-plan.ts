import type { ClaimShare } from '../ports.js';

/**
 * The fair part of a claim, apart from the I/O (SQLite runs it in JavaScript on the writer thread;
 * PostgreSQL states the same in SQL, postgres/deliveries.ts). Each destination offers its due deliveries,
 * oldest first, up to its room; the claim's limit is then shared round-robin, so a destination with a
 * backlog of thousands does not crowd out one with a single delivery due.
 */
export interface ClaimCandidate {
  id: string;
  next_attempt_at: number;
  event_seq: number;
}

/** How many of a destination's due deliveries one claim may take (never more than the claim's limit). */
export function roomOf(share: ClaimShare | undefined, destination: { id: string; max_concurrency: number | null }, limit: number): number {
  if (!share) return limit;
  const cap = Math.min(destination.max_concurrency ?? share.perDestination, share.caps[destination.id] ?? Number.POSITIVE_INFINITY);
  return Math.max(0, Math.min(limit, cap - (share.busy[destination.id] ?? 0)));
}

/** Each destination's oldest first, then their second oldest, …; within a round, by due time and seq. */
export function fairCut(offers: ReadonlyArray<readonly ClaimCandidate[]>, limit: number): ClaimCandidate[] {
  const ranked = offers.flatMap((offer) => offer.map((c, rank) => ({ c, rank })));
  ranked.sort((a, b) => a.rank - b.rank || Number(a.c.next_attempt_at) - Number(b.c.next_attempt_at) || Number(a.c.event_seq) - Number(b.c.event_seq));
  return ranked.slice(0, limit).map((r) => r.c);
}
