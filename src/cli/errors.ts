/**
 * What a command line user reads when a command fails: one line that says what went wrong and, where we
 * know it, what to do, instead of a stack trace. LOG_LEVEL=debug keeps the stack for us.
 */
export function describeFailure(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const cause = (e?.cause ?? {}) as NodeJS.ErrnoException;
  if (['ECONNREFUSED', 'ENOTFOUND', '28P01', '3D000'].includes(cause.code ?? '')) {
    return `cannot reach the database (${cause.message}): check SWITCHBOARD_DB / --db`;
  }
  if (e?.code === 'EADDRINUSE') return `port ${e.port} on ${e.address} is already in use: stop what runs there, or pass --port`;
  if (e?.code === 'EACCES' && e.syscall === 'listen') return `not allowed to listen on port ${e.port}: use a port above 1023`;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === '28P01' || e?.code === '3D000') {
    return `cannot reach the database (${e.message}): check SWITCHBOARD_DB / --db`;
  }
  // The PostgreSQL driver parses SWITCHBOARD_DB on its first connection (which the migrations open); its URL
  // parser's error carries the input redacted. The commands' own URLs (--server, --to) are http(s) and said so
  // where they are read.
  const invalidDbUrl = (c: unknown) => (c as NodeJS.ErrnoException)?.code === 'ERR_INVALID_URL' && !/^https?:/i.test(String((c as { input?: unknown }).input));
  if (causes(error).some(invalidDbUrl)) {
    return 'SWITCHBOARD_DB / --db is not a valid URL: expected postgres://user:password@host:port/database';
  }
  return e instanceof Error ? e.message : String(error);
}

/** An error and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let at = error; at !== undefined && at !== null && chain.length < 8; at = (at as { cause?: unknown }).cause) chain.push(at);
  return chain;
}

/**
 * A server's `listen` that failed on its address, as the line to print, naming `--host`: the name lookup's
 * ENOTFOUND would otherwise read as the database's (describeFailure). Other failures (a port in use) as they are.
 *
 * @example
 * await app.listen().catch((error: unknown) => { throw listenFailure(error, config.host); });
 */
export function listenFailure(error: unknown, host: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  const why: Record<string, string> = {
    ENOTFOUND: 'no such host name', EAI_AGAIN: 'no such host name', EAI_NONAME: 'no such host name',
    EADDRNOTAVAIL: 'not an address of this machine',
  };
  return why[code] ? new Error(`cannot listen on --host ${host}: ${why[code]} (${code})`) : error;
}
