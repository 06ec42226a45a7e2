import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The real server as a child process (`node dist/cli/index.js start …`), for tests that must kill it the
 * hard way. Every process started here is tracked so that a test's afterAll can kill what is left over.
 */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

const live = new Set<ChildProcess>();

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited, with its code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface FirstStartServer extends ServerProcess {
  ingestUrl: string;
  token: string;
  adminKey: string;
}

/** Fails with a message that says what to do when the CLI was not built. */
export function assertBuilt(): void {
  if (!existsSync(cliPath)) {
    throw new Error(`${cliPath} is missing: run \`npm run build\` first (\`npm test\` builds it through pretest).`);
  }
}

/** Starts the server on `db` and waits until it printed what it prints after listening. */
export async function startServer(db: string, timeoutMs = 30_000, extraArgs: string[] = []): Promise<ServerProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [cliPath, 'start', '--db', db, '--host', '127.0.0.1', '--port', '0', ...extraArgs], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  // Both first and later starts end their banner with the dashboard line; a first start adds the key after it.
  const ready = () => /Switchboard is running on (http:\/\/\S+) /.test(out) && /Dashboard: .*\n/.test(out) && (!/First start/.test(out) || /Admin key:\s+\S+\n/.test(out));
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})\nstdout:\n${out}\nstderr:\n${err}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not print its banner within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const baseUrl = /Switchboard is running on (http:\/\/\S+) /.exec(out)![1]!;
  return { child, baseUrl, stdout: () => out, stderr: () => err, exited };
}

/** Starts the server on an empty database and reads the ingest URL, token and admin key it prints once. */
export async function startFirstServer(db: string, extraArgs: string[] = []): Promise<FirstStartServer> {
  const server = await startServer(db, 30_000, extraArgs);
  const out = server.stdout();
  const ingestUrl = /Ingest URL:\s+(http:\/\/\S+\/hooks\/convolo\/(sbt_[A-Za-z0-9_-]+))\s/.exec(out);
  const adminKey = /Admin key:\s+(sbk_[A-Za-z0-9_-]+)\s/.exec(out);
  if (!ingestUrl || !adminKey) {
    server.child.kill('SIGKILL');
    throw new Error(`a first start must print the ingest URL and the admin key; it printed:\n${out}`);
  }
  return { ...server, ingestUrl: ingestUrl[1]!, token: ingestUrl[2]!, adminKey: adminKey[1]! };
}

/** Kills (SIGKILL) every server process started here that is still running. */
export async function killLeftoverServers(): Promise<void> {
  const waiting = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waiting);
}

/**
 * POSTs a JSON webhook to a node's ingest URL over real HTTP: its status, and the stored event's id and
 * whether it was a duplicate when the answer says so; status 0 when no answer came (the node is down).
 */
export async function postWebhook(url: string, body: string): Promise<{ status: number; id?: string; duplicate?: boolean }> {
  try {
    const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const json = (await response.json().catch(() => ({}))) as { id?: string; duplicate?: boolean };
    return { status: response.status, id: json.id, duplicate: json.duplicate };
  } catch {
    return { status: 0 };
  }
}
