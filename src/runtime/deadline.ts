/**
 * What `work` gives, or `late()` thrown when it has not settled within `ms`: for a database that may not answer
 * at all (a hung server, a black-holed address), which a caller must not wait on forever. The work itself goes
 * on (its own timeouts end it); only the wait for it ends.
 */
export async function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
