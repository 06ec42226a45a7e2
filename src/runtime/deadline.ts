/**
 * What `work` gives, or `late()` thrown when it has not settled within `ms`: for a database that may not answer
 * at all (a hung server, a black-holed address), which a caller must not wait on forever. The work itself goes
 * on (its own timeouts end it); only the wait for it ends.
 */
export function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
