import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { createMigrator } from './migrations.js';

/**
 * A migration, once shipped, never changes (ARCHITECTURE.md): each is its own file in ./migrations/ and may
 * import only kysely and Node's builtins. An import of the domain would let an edit there silently change
 * what a migration that users already applied does on the next fresh database.
 */
const folder = new URL('./migrations/', import.meta.url);
const files = readdirSync(folder).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();

/** The modules a file imports (static, type-only, re-exports, dynamic import() and require()) that it may not. */
function forbiddenImports(text: string): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles.map((f) => f.fileName).filter((name) => name !== 'kysely' && !isBuiltin(name));
}

describe('migration files', () => {
  it('import nothing but kysely and Node builtins, so that no edit elsewhere changes a shipped migration', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    const found = files.map((file) => ({ file, imports: forbiddenImports(readFileSync(new URL(file, folder), 'utf8')) }));
    expect(found.filter((f) => f.imports.length > 0)).toEqual([]);
  });

  it('the guard catches an import of domain code, a sibling file, a package or a dynamic import', () => {
    const text = [
      "import { phoneDigits } from '../../domain/call.js';",
      "import type { Dialect } from '../migrations.js';",
      "export { inProgress } from './0001_core.js';",
      "import { sql } from 'kysely';",
      "import { createHash } from 'node:crypto';",
      "import 'pg';",
      "const late = await import('../shared/json-field.js');",
    ].join('\n');
    expect(forbiddenImports(text)).toEqual(['../../domain/call.js', '../migrations.js', './0001_core.js', 'pg', '../shared/json-field.js']);
  });

  it('are the migrations the migrator runs, one file each, named as recorded in switchboard_migrations', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
    try {
      const names = (await createMigrator(db, 'sqlite').getMigrations()).map((m) => m.name);
      expect(names).toEqual(files.map((f) => f.replace(/\.ts$/, '')));
      // Names already recorded in users' databases: renaming one would run it again there.
      expect(names.slice(0, 8)).toEqual([
        '0001_core', '0002_relay', '0003_call_queries', '0004_stats_time', '0005_reprocess', '0006_stats_cover',
        '0007_fair_claims', '0008_well_formed_json',
      ]);
    } finally {
      await db.destroy();
    }
  });
});
