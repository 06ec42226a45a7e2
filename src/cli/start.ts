import v8 from 'node:v8';
import { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { listenFailure } from './errors.js';
import { configFlags, withConfigFlags } from './options.js';

export function startCommand(): Command {
  const command = new Command('start').description('Run the service: the ingest endpoint and the API.');
  return withConfigFlags(command).action(async () => {
    const config = loadConfig(process.env, configFlags(command));
    // On PostgreSQL the append runs on the main thread, and with V8's allocation-site pretenuring its server
    // ran a mark-compact about once a second under load: objects of sites V8 had switched to the old generation
    // died there. Without it, 5 pairs at 16 connections: 12 → 4–5 mark-compacts per run, the GC's helper
    // threads about halved, p99 15–18 → 9–12 ms. On SQLite the same flag cost ~25 µs per event (5 pairs), so it
    // is set for PostgreSQL only (docs/benchmarks.md, issue 14). Set before the app loads: V8 applies it to the
    // decisions it takes from now on, in every isolate.
    if (!config.db.startsWith('sqlite:')) v8.setFlagsFromString('--no-allocation-site-pretenuring');
    else {
      // One server per SQLite file (its lock), and a word when the file is readable by others.
      const path = config.db.slice('sqlite:'.length);
      const sqliteFile = await import('../storage/sqlite/connection.js');
      sqliteFile.holdServerLock(path);
      const mode = sqliteFile.exposedMode(path);
      if (mode !== null) process.stderr.write(`switchboard: warning: ${path} can be read or changed by other users of this machine (mode ${mode.toString(8)}); it holds signing secrets and Convolo keys: chmod 600 ${path}*\n`);
    }
    const { createApp } = await import('../app.js');
    const app = await createApp(config);
    const firstStart = await app.prepare();
    const { baseUrl } = await app.listen().catch((error: unknown) => {
      throw listenFailure(error, config.host);
    });

    // Printed to stdout, never through the logger: the token and key appear here once, on the first start
    // (the setup link on every start until a user exists).
    const lines = [`Switchboard is running on ${baseUrl} (${app.storage.dialect})`];
    if (firstStart) {
      lines.push(
        '',
        'First start: a default source and an admin API key were created. They are shown this once.',
        `  Ingest URL:   ${baseUrl}/hooks/convolo/${firstStart.sourceToken}`,
        `  Admin key:    ${firstStart.adminKey}`,
        `  Dashboard:    ${baseUrl}/`,
        '',
        'Paste the ingest URL into Convolo (webhook, "post json in new format"). Keep the key safe:',
        'only its hash is stored. Try it:',
        `  curl -H "authorization: Bearer ${firstStart.adminKey}" ${baseUrl}/v1/events`,
        `  curl -N -H "authorization: Bearer ${firstStart.adminKey}" ${baseUrl}/v1/stream     # live events`,
        `  switchboard destinations add --server ${baseUrl} --key ${firstStart.adminKey} --url https://your.app/webhooks`,
      );
    } else {
      const sources = (await app.storage.sources.list()).filter((s) => s.revokedAt === null);
      lines.push(...sources.map((s) => `  Ingest URL:   ${baseUrl}/hooks/convolo/<token of source "${s.name}" (${s.tokenHint})>`));
      lines.push(`  Dashboard:    ${baseUrl}/`);
    }
    if (app.setupToken) {
      // A new link on every start until someone uses one; earlier links work until they expire.
      lines.push(
        '',
        'No one can sign in to the dashboard yet. Create the first admin (this link works once, for 24 hours):',
        `  Open ${baseUrl}/setup?token=${app.setupToken}`,
        '  (or: switchboard users add --email you@example.com --role admin)',
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);

    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.server.log.info({ signal }, 'shutting down: finishing in-flight requests');
      const timer = setTimeout(() => {
        app.server.log.error('graceful shutdown timed out; exiting');
        process.exit(1);
      }, config.shutdownTimeoutSec * 1000);
      timer.unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          app.server.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
