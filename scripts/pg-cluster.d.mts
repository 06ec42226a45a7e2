// Type declarations for pg-cluster.mjs, so strict TypeScript (tests) can import it
// without enabling allowJs project-wide. Keep in sync with the JSDoc there.

export interface PgClusterOptions {
  /** Extra postgresql.conf settings, e.g. `{ fsync: 'off' }`. */
  extraConf?: Record<string, string | number | boolean>;
  /** max_connections (default 200). */
  maxConnections?: number;
  /**
   * WAL to leave ready for reuse, in MB (default 0), as on a server that has been running: a new cluster
   * zero-fills each 16 MB segment when it first needs it, and its commits wait meanwhile.
   */
  recycledWalMb?: number;
  /**
   * A cluster's URL: start a hot standby of it (pg_basebackup, streaming replication) instead of a new
   * cluster; what the primary commits appears on it once replayed.
   */
  replicaOf?: string;
}

export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  /** Stops the server and deletes its files. Idempotent. */
  stop: () => Promise<void>;
  /**
   * Stops the server, keeping its files: a fast shutdown by default (sessions are cut, open transactions
   * abort, a checkpoint writes everything out); `'immediate'` is a crash (what is not flushed to the WAL is
   * lost, and the next start recovers from the WAL).
   */
  halt: (mode?: 'fast' | 'immediate') => Promise<void>;
  /** Starts a halted server again on the same port and files. */
  resume: () => Promise<void>;
}

/** Start a fresh PostgreSQL cluster in a new temp directory. */
export function startPgCluster(options?: PgClusterOptions): Promise<PgCluster>;

/**
 * Create a fresh, empty database on the server at `baseUrl`; returns `baseUrl`
 * with its database replaced by the new one. `name` defaults to `sb_<random hex>`.
 */
export function createDatabase(baseUrl: string, name?: string): Promise<string>;

/** The directory holding initdb and pg_ctl ($PG_BIN, the newest /usr/lib/postgresql/N/bin, else PATH); throws saying how to install them. */
export function findPgBin(): string;
