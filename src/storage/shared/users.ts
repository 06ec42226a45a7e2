import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { InvitationId, UserId } from '../../domain/ids.js';
import type { Dialect } from '../migrations.js';
import type { AccountStores, Invitation, Role, Session, User } from '../ports.js';
import type { Database, InvitationsTable, UsersTable } from '../schema.js';

/**
 * The dashboard's users, sessions and setup tokens, on both backends. The few writes that must see a
 * consistent count (the last admin, the first admin) run in a transaction that holds the users table: on
 * SQLite every transaction does (`begin immediate`, sqlite/thread-dialect.ts); on PostgreSQL a SHARE ROW
 * EXCLUSIVE lock on users, which two such transactions cannot hold at once.
 */
export function createAccountStores(db: Kysely<Database>, dialect: Dialect): AccountStores {
  async function lockUsers(trx: Transaction<Database>): Promise<void> {
    if (dialect === 'postgres') await sql`lock table users in share row exclusive mode`.execute(trx);
  }
  /** Whether the user is the only admin (taken under lockUsers, so two changes at once cannot leave none). */
  async function isLastAdmin(trx: Transaction<Database>, role: string): Promise<boolean> {
    if (role !== 'admin') return false;
    const { n } = await trx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'admin').executeTakeFirstOrThrow();
    return Number(n) <= 1;
  }
  const insertUser = (into: Kysely<Database>, u: User & { passwordHash: string }) =>
    into
      .insertInto('users')
      .values({ id: u.id, email: u.email, name: u.name, role: u.role, password_hash: u.passwordHash, created_at: u.createdAt, updated_at: u.createdAt })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();

  return {
    users: {
      async create(user) {
        return (await insertUser(db, user)) !== undefined;
      },
      async get(id) {
        const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
        return row ? toUser(row) : null;
      },
      async findByEmail(email) {
        const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
        return row ? { ...toUser(row), passwordHash: row.password_hash } : null;
      },
      async list() {
        return (await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute()).map(toUser);
      },
      async count() {
        const { n } = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        return Number(n);
      },
      remove(id) {
        return db.transaction().execute(async (trx) => {
          await lockUsers(trx);
          const user = await trx.selectFrom('users').select(['role', 'email']).where('id', '=', id).executeTakeFirst();
          if (!user) return 'not_found' as const;
          if (await isLastAdmin(trx, user.role)) return 'last_admin' as const;
          await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
          // Links sent to their email before (a second invitation) must not bring them back, and the links
          // they sent end with them (as a revoked one: deleted).
          await trx.deleteFrom('invitations').where('used_at', 'is', null)
            .where((eb) => eb.or([eb('email', '=', user.email), eb('created_by', '=', id)])).execute();
          await trx.deleteFrom('users').where('id', '=', id).execute();
          return 'removed' as const;
        });
      },
      setPassword(id, passwordHash, at, keepSession) {
        return db.transaction().execute(async (trx) => {
          const updated = await trx.updateTable('users').set({ password_hash: passwordHash, updated_at: at }).where('id', '=', id).executeTakeFirst();
          if (Number(updated.numUpdatedRows) === 0) return false;
          let ended = trx.deleteFrom('sessions').where('user_id', '=', id);
          if (keepSession !== undefined) ended = ended.where('token_hash', '!=', keepSession);
          await ended.execute();
          return true;
        });
      },
      setRole(id, role, at) {
        return db.transaction().execute(async (trx) => {
          await lockUsers(trx);
          const user = await trx.selectFrom('users').select('role').where('id', '=', id).executeTakeFirst();
          if (!user) return 'not_found' as const;
          if (role !== 'admin' && (await isLastAdmin(trx, user.role))) return 'last_admin' as const;
          await trx.updateTable('users').set({ role, updated_at: at }).where('id', '=', id).execute();
          // A viewer must not have minted admins: their pending admin invitations end (as a revoked one).
          if (role !== 'admin') await trx.deleteFrom('invitations').where('created_by', '=', id).where('role', '=', 'admin').where('used_at', 'is', null).execute();
          return 'updated' as const;
        });
      },
    },

    sessions: {
      async create(s) {
        await db
          .insertInto('sessions')
          .values({ token_hash: s.tokenHash, user_id: s.userId, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt })
          .execute();
      },
      async find(tokenHash) {
        const row = await db
          .selectFrom('sessions')
          .innerJoin('users', 'users.id', 'sessions.user_id')
          .select(['sessions.token_hash', 'sessions.user_id', 'sessions.created_at as session_created_at', 'sessions.last_seen_at', 'sessions.expires_at'])
          .select(['users.id', 'users.email', 'users.name', 'users.role', 'users.created_at'])
          .where('sessions.token_hash', '=', tokenHash)
          .executeTakeFirst();
        if (!row) return null;
        const session: Session = {
          tokenHash: row.token_hash,
          userId: row.user_id as UserId,
          createdAt: Number(row.session_created_at),
          lastSeenAt: Number(row.last_seen_at),
          expiresAt: Number(row.expires_at),
        };
        return { session, user: toUser(row) };
      },
      async touch(tokenHash, at) {
        await db.updateTable('sessions').set({ last_seen_at: at }).where('token_hash', '=', tokenHash).where('last_seen_at', '<', at).execute();
      },
      async delete(tokenHash) {
        await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
      },
      async deleteExpired(before, idleBefore) {
        const result = await db.deleteFrom('sessions').where((eb) => eb.or([eb('expires_at', '<=', before), eb('last_seen_at', '<=', idleBefore)])).executeTakeFirst();
        return Number(result.numDeletedRows);
      },
    },

    setupTokens: {
      async create(t) {
        await db.insertInto('setup_tokens').values({ token_hash: t.tokenHash, created_at: t.createdAt, expires_at: t.expiresAt, used_at: null }).execute();
      },
      async isUsable(tokenHash, at) {
        const row = await db.selectFrom('setup_tokens').select('token_hash').where('token_hash', '=', tokenHash)
          .where('used_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
        return row !== undefined;
      },
      createFirstAdmin(tokenHash, at, user) {
        return db.transaction().execute(async (trx) => {
          await lockUsers(trx);
          // The token first: of two uses at once, the second waits for the first's row lock (PostgreSQL) or
          // its transaction (SQLite), then finds the token used.
          const used = await trx.updateTable('setup_tokens').set({ used_at: at }).where('token_hash', '=', tokenHash)
            .where('used_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
          if (Number(used.numUpdatedRows) === 0) return 'token_invalid' as const;
          const { n } = await trx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
          if (Number(n) > 0) return 'setup_done' as const;
          await insertUser(trx, { ...user, role: 'admin' });
          return 'created' as const;
        });
      },
    },
    invitations: {
      async create(i) {
        const insert = (into: Kysely<Database>) => into.insertInto('invitations')
          .values({ id: i.id, token_hash: i.tokenHash, email: i.email, role: i.role, created_at: i.createdAt, expires_at: i.expiresAt, used_at: null, created_by: i.createdBy }).execute();
        if (i.createdBy === null) {
          await insert(db);
          return true;
        }
        const createdBy = i.createdBy;
        return db.transaction().execute(async (trx) => {
          await lockUsers(trx);
          const inviter = await trx.selectFrom('users').select('role').where('id', '=', createdBy).executeTakeFirst();
          if (inviter?.role !== 'admin') return false;
          await insert(trx);
          return true;
        });
      },
      async listPending(at) {
        const rows = await db.selectFrom('invitations').selectAll().where('used_at', 'is', null).where('expires_at', '>', at).orderBy('created_at').orderBy('id').execute();
        return rows.map(toInvitation);
      },
      async findPending(tokenHash, at) {
        const row = await db.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).where('used_at', 'is', null).where('expires_at', '>', at).executeTakeFirst();
        return row ? toInvitation(row) : null;
      },
      async remove(id) {
        const result = await db.deleteFrom('invitations').where('id', '=', id).executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      },
      accept(tokenHash, at, user) {
        return db.transaction().execute(async (trx) => {
          await lockUsers(trx);
          // The invitation first, as createFirstAdmin's token: of two uses at once, the second finds it used.
          const used = await trx.updateTable('invitations').set({ used_at: at }).where('token_hash', '=', tokenHash)
            .where('used_at', 'is', null).where('expires_at', '>', at).returning(['email', 'role']).executeTakeFirst();
          if (!used) return 'token_invalid' as const;
          if ((await insertUser(trx, { ...user, email: used.email, role: used.role as Role })) === undefined) {
            // Keep the invitation pending: roll back its use along with nothing else.
            throw new EmailTaken();
          }
          return 'created' as const;
        }).catch((error: unknown) => {
          if (error instanceof EmailTaken) return 'email_taken' as const;
          throw error;
        });
      },
    },
  };
}

/** Rolls back an invitation's use when its email was taken meanwhile. */
class EmailTaken extends Error {}

function toInvitation(r: Selectable<InvitationsTable>): Invitation {
  return { id: r.id as InvitationId, email: r.email, role: r.role as Role, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at), createdBy: r.created_by as UserId | null };
}

function toUser(r: Pick<Selectable<UsersTable>, 'id' | 'email' | 'name' | 'role' | 'created_at'>): User {
  return { id: r.id as UserId, email: r.email, name: r.name, role: r.role as Role, createdAt: Number(r.created_at) };
}

