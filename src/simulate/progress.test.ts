import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

/** A stream that keeps what is written, a terminal or not. */
function sink(isTTY: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream, text: () => text };
}

describe('simulate progress', () => {
  it('writes plain lines, no bar, when the output is not a terminal', () => {
    const out = sink(false);
    const progress = createProgress({ total: 10, stream: out.stream, everySec: 0 });
    progress.update(4, 1);
    progress.update(10, 1);
    progress.stop();
    expect(out.text()).toBe('simulate: 4/10 requests sent, 1 failed\nsimulate: 10/10 requests sent, 1 failed\n');
  });

  it('draws a bar with the counts on a terminal', () => {
    const out = sink(true);
    const progress = createProgress({ total: 10, stream: out.stream });
    progress.update(10, 2);
    progress.stop();
    expect(out.text()).toMatch(/Simulating \|.*\| 10\/10 requests \| 2 failed/);
  });
});
