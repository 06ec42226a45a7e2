import { sql, type ExpressionBuilder, type Kysely, type UpdateObject } from 'kysely';
import type { Destinations, DestinationPatch } from '../ports.js';
import type { Dialect } from '../migrations.js';
import type { Database } from '../schema.js';
import { previousSecretsAfterRotation } from '../../domain/destination.js';
import { oneInFlightAtATime } from './deliveries.js';
import { destinationToRow, previousSecretColumns, rowToDestination } from './destination-rows.js';

/** Why a destination is disabled when an administrator did it (the worker writes its own reasons). */
export const disabledByAdmin = 'disabled by an administrator';

/**
 * Destinations administration, shared by both backends. Deleting is soft: deliveries and their attempt
 * logs keep pointing at the row, so the delivery history stays readable after a destination is gone.
 */
/**
 * @param outboxSettled PostgreSQL: resolves once the deliveries every append so far queued are inserted (the
 *   appends in flight have committed, and the sequencer has inserted what they queued).
 */
export function createDestinations(db: Kysely<Database>, dialect: Dialect, outboxSettled?: () => Promise<void>): Destinations {
  const live = () => db.selectFrom('destinations').selectAll().where('deleted_at', 'is', null);

  return {
    async create(destination) {
      await db.insertInto('destinations').values(destinationToRow(destination)).execute();
    },

    async get(id) {
      const row = await live().where('id', '=', id).executeTakeFirst();
      return row ? rowToDestination(row) : null;
    },

    async list() {
      return (await live().orderBy('created_at').orderBy('id').execute()).map(rowToDestination);
    },

    async update(id, patch, now) {
      const row = await db
        .updateTable('destinations')
        .set({ ...patchColumns(patch, now), updated_at: now })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row ? rowToDestination(row) : null;
    },

    async rotateSecret(id, secret, previousExpiresAt, now) {
      // Read, then write only over the secret that was read: a rotation in between (another request, another
      // node) makes the update change nothing, and this one starts again from what that one wrote, so no
      // previous secret is lost between two rotations at once.
      for (;;) {
        const row = await live().where('id', '=', id).executeTakeFirst();
        if (!row) return null;
        const before = rowToDestination(row);
        const updated = await db
          .updateTable('destinations')
          .set({ ...previousSecretColumns(previousSecretsAfterRotation(before, previousExpiresAt, now)), secret, updated_at: now })
          .where('id', '=', id)
          .where('deleted_at', 'is', null)
          .where('secret', '=', before.secret)
          .returningAll()
          .executeTakeFirst();
        if (updated) return rowToDestination(updated);
      }
    },

    async delete(id, now) {
      const deleteRow = async (on: Kysely<Database>) => Number((await on
        .updateTable('destinations')
        .set({ deleted_at: now, updated_at: now })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst()).numUpdatedRows) > 0;
      const deleteAndCancel = async (on: Kysely<Database>) => {
        const deleted = await deleteRow(on);
        if (deleted) await cancelPendingOfDeleted(on, now, id);
        return deleted;
      };
      // SQLite: one transaction, the destination's row written first (a transaction that writes before it
      // reads waits for the writer thread's lock, busy_timeout, instead of failing with SQLITE_BUSY).
      // PostgreSQL: the destination's row committed on its own first (from then on no delivery of it is
      // claimed), its pending deliveries cancelled after, not while holding the row: the worker recording
      // outcomes of its deliveries in flight holds their rows and may then write the destination's (it starts
      // or stops failing), and a DELETE holding the destination's while waiting for one of those rows was a
      // deadlock (PostgreSQL failed one: the DELETE answered 503). A stop in between leaves them to
      // storage.maintain(), which cancels any straggler.
      const deleted = dialect === 'sqlite' ? await db.transaction().execute(deleteAndCancel) : await deleteAndCancel(db);
      // PostgreSQL: an append that read the destinations before this commit queued deliveries to it, and the
      // sequencer inserts them after it: never claimed, they would stay pending for ever. Once every such append
      // has committed and been sequenced, they are cancelled too (storage.maintain() cancels any straggler).
      if (deleted && outboxSettled) {
        await outboxSettled();
        await cancelPendingOfDeleted(db, now, id);
      }
      return deleted;
    },
  };
}

/**
 * Cancels the pending deliveries of a deleted destination (`id`), or of every deleted one: none of them is
 * ever claimed. Those in flight are cancelled too, one at a time (oneInFlightAtATime: the worker's outcome
 * locks their rows in an order of its own), so their answers, when they come, change nothing (the worker
 * records outcomes only on pending deliveries); the others in one statement, before and after them (one
 * whose attempt ended meanwhile, left pending for a retry, is not in flight any more).
 */
export async function cancelPendingOfDeleted(db: Kysely<Database>, now: number, id?: string): Promise<void> {
  const ofDeleted = (eb: ExpressionBuilder<Database, 'deliveries'>) => eb('destination_id', 'in', (sub) => {
    const deleted = sub.selectFrom('destinations').select('id').where('deleted_at', 'is not', null);
    return id === undefined ? deleted : deleted.where('id', '=', id);
  });
  const cancel = () => db.updateTable('deliveries').set({ status: 'cancelled', finished_at: now, updated_at: now, locked_until: null })
    .where('status', '=', sql.lit('pending'));
  const cancelWaiting = () => cancel().where(ofDeleted).where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)])).execute();
  await cancelWaiting();
  await oneInFlightAtATime(db, now, ofDeleted, (delivery) => cancel().where('id', '=', delivery).executeTakeFirst());
  await cancelWaiting();
}

/** The columns a patch changes: only the fields it carries (undefined leaves a column as it is). */
function patchColumns(patch: DestinationPatch, now: number): UpdateObject<Database, 'destinations'> {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  const set: UpdateObject<Database, 'destinations'> = {};
  if (patch.url !== undefined) set.url = patch.url;
  if (patch.description !== undefined) set.description = patch.description;
  if (patch.eventTypes !== undefined) set.event_types = json(patch.eventTypes);
  if (patch.widgetKeys !== undefined) set.widget_keys = json(patch.widgetKeys);
  if (patch.callStatuses !== undefined) set.call_statuses = json(patch.callStatuses);
  if (patch.headers !== undefined) set.headers = json(patch.headers);
  if (patch.rateLimitPerSec !== undefined) set.rate_limit_per_sec = patch.rateLimitPerSec;
  if (patch.maxConcurrency !== undefined) set.max_concurrency = patch.maxConcurrency;
  if (patch.disabled === false) Object.assign(set, { disabled_at: null, disabled_reason: null, failing_since: null });
  // A resumed destination starts a new run: the days it spent paused are not days of failing (the worker
  // disables one failing for SWITCHBOARD_DISABLE_AFTER_HOURS).
  if (patch.paused === false) Object.assign(set, { paused_at: null, failing_since: null });
  // Pausing a paused destination keeps when it was first paused.
  if (patch.paused === true) set.paused_at = sql<number>`coalesce(paused_at, ${now})`;
  if (patch.disabled === true) {
    // Disabling a destination that is disabled already keeps the first reason (a 410 Gone says more).
    set.disabled_reason = sql<string>`coalesce(disabled_reason, ${disabledByAdmin})`;
    set.disabled_at = sql<number>`coalesce(disabled_at, ${now})`;
  }
  return set;
}
