// vitest globalSetup: one PostgreSQL server for the whole run, shared by all
// test files through `inject('pgUrl')`; each test makes its own database on it
// (see ./pg.ts), so tests stay isolated without paying for a cluster each.
import type { TestProject } from 'vitest/node';
import { startPgCluster } from '../../scripts/pg-cluster.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test server; create databases on it, don't test in it directly. */
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // An externally managed server (e.g. a CI service container) takes precedence.
  const external = process.env.SWITCHBOARD_TEST_PG_URL;
  if (external) {
    project.provide('pgUrl', external);
    return async () => {};
  }
  // Default settings (fsync on): tests run against a server configured like a real one.
  const cluster = await startPgCluster();
  project.provide('pgUrl', cluster.url);
  return () => cluster.stop();
}
