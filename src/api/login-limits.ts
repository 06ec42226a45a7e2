import { AppError } from '../domain/errors.js';
import { createMissCounter } from './auth-misses.js';

/**
 * Failed sign-ins counted per account (the email, known or not: counting only real accounts would tell
 * which exist) and per address, in fixed windows, in memory per node like the other limits. Past either
 * limit, sign-ins answer 429 `rate_limited` with Retry-After until the window ends, before any password is
 * checked; a successful sign-in clears its account's count. Password changes count against the account too.
 *
 * An attempt counts as a failure from the moment it is let through (`begin`), until its password turns out
 * right: checking a password takes tens of milliseconds, and attempts sent at once would otherwise all pass
 * the check before the first failure is counted (20 guesses at once against a limit of 10 were 20 guesses).
 *
 * @example
 * const limits = createLoginLimits({ perAccount: 10, perAddress: 30, windowMin: 15 });
 * const attempt = limits.begin('ann@example.com', '10.0.0.1'); // throws rate_limited once over a limit
 * if (await passwordIsRight()) attempt.succeeded(); // else it stays counted as a failure
 */
export function createLoginLimits(options: { perAccount: number; perAddress: number; windowMin: number; now?: () => number }) {
  const windowMs = options.windowMin * 60_000;
  const accounts = createMissCounter({ perMin: options.perAccount, windowMs, now: options.now });
  const addresses = createMissCounter({ perMin: options.perAddress, windowMs, now: options.now });
  return {
    /**
     * Lets an attempt through (counted as a failed one) or throws `sign_ins_limited`. The caller says
     * `succeeded()` when the password was right, `abandoned()` when it could not be checked (the database
     * failed): either takes the attempt back.
     */
    begin(account: string, address: string): { succeeded(): void; abandoned(): void } {
      const waitMs = Math.max(accounts.blockedFor(account), addresses.blockedFor(address));
      if (waitMs > 0) {
        throw new AppError('sign_ins_limited', { retry_after_sec: Math.ceil(waitMs / 1000) });
      }
      accounts.miss(account);
      addresses.miss(address);
      let settled = false;
      const takeBack = () => {
        if (settled) return;
        settled = true;
        accounts.forgive(account);
        addresses.forgive(address);
      };
      return {
        succeeded() {
          takeBack();
          accounts.clear(account);
        },
        abandoned: takeBack,
      };
    },
  };
}

export type LoginLimits = ReturnType<typeof createLoginLimits>;
