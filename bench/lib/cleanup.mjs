// Child processes and clean-up steps of a benchmark run, undone on every exit path:
// normal end (callers use try/finally and `runCleanups`), SIGINT/SIGTERM/SIGHUP, uncaught errors,
// and, as a last resort, process exit (children still alive get SIGKILL).

const children = new Set();
const cleanups = [];
let cleaning = null;
let installed = false;

/** Remember a spawned child so that it is killed on any exit path. */
export function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Register an async clean-up step; steps run last-registered first. Returns an unregister function. */
export function onCleanup(fn) {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Run every registered clean-up step (each once), then kill any child still alive. */
export async function runCleanups() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`clean-up step failed: ${err?.stack ?? err}\n`);
    }
  }
  killAll('SIGKILL');
}

function killAll(signal) {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function bail(reason, code) {
  if (cleaning) {
    process.stderr.write(`\n${reason} again: killing children and exiting now\n`);
    killAll('SIGKILL');
    process.exit(code);
  }
  process.stderr.write(`\n${reason}: cleaning up (servers, PostgreSQL cluster)...\n`);
  cleaning = runCleanups().finally(() => process.exit(code));
}

/** Install the process-wide handlers once (run.mjs does this). */
export function installExitHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', () => killAll('SIGKILL'));
  process.on('SIGINT', () => bail('SIGINT', 130));
  process.on('SIGTERM', () => bail('SIGTERM', 143));
  process.on('SIGHUP', () => bail('SIGHUP', 129));
  process.on('uncaughtException', (err) => {
    process.stderr.write(`uncaught exception: ${err?.stack ?? err}\n`);
    bail('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`);
    bail('unhandled rejection', 1);
  });
}
