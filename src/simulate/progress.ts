import { Presets, SingleBar } from 'cli-progress';

/**
 * How a running simulation shows itself: a bar on a terminal, or a plain line every few seconds when the
 * output goes to a file or a CI log (where a bar's carriage returns make a mess). On stderr, so that
 * `--json` keeps stdout for the summary alone.
 */

export interface ProgressView {
  update(sent: number, failed: number): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines. */
  everySec?: number;
}

/**
 * @example
 * const progress = createProgress({ total: sends.length });
 * progress.update(tally.sent, tally.failed); // after each answer
 * progress.stop();
 */
export function createProgress(options: ProgressOptions): ProgressView {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: 'Simulating |{bar}| {value}/{total} requests | {failed} failed | {duration}s', stream, hideCursor: true },
      Presets.shades_classic,
    );
    bar.start(options.total, 0, { failed: 0 });
    return { update: (sent, failed) => bar.update(sent, { failed }), stop: () => bar.stop() };
  }
  const everyMs = (options.everySec ?? 2) * 1000;
  let last = performance.now();
  return {
    update(sent, failed) {
      const now = performance.now();
      if (now - last < everyMs) return;
      last = now;
      stream.write(`simulate: ${sent}/${options.total} requests sent, ${failed} failed\n`);
    },
    stop() {},
  };
}
