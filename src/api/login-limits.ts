import { AppError } from '../domain/errors.js';
import { createMissCounter } from './auth-misses.js';

/**
 * Failed sign-ins counted per account (the email, known or not: counting only real accounts would tell
 * which exist) and per address, in fixed windows, in memory per node like the other limits. Past either
 * limit, sign-ins answer 429 `rate_limited` with Retry-After until the window ends, before any password is
 * checked; a successful sign-in clears its account's count. Password changes count against the account too.
 *
 * @example
 * const limits = createLoginLimits({ perAccount: 10, perAddress: 30, windowMin: 15 });
 * limits.check('ann@example.com', '10.0.0.1'); // throws rate_limited once over a limit
 * limits.failed('ann@example.com', '10.0.0.1');
 */
export function createLoginLimits(options: { perAccount: number; perAddress: number; windowMin: number; now?: () => number }) {
  const windowMs = options.windowMin * 60_000;
  const accounts = createMissCounter({ perMin: options.perAccount, windowMs, now: options.now });
  const addresses = createMissCounter({ perMin: options.perAddress, windowMs, now: options.now });
  return {
    check(account: string, address: string): void {
      const waitMs = Math.max(accounts.blockedFor(account), addresses.blockedFor(address));
      if (waitMs > 0) {
        throw new AppError('sign_ins_limited', { retry_after_sec: Math.ceil(waitMs / 1000) });
      }
    },
    failed(account: string, address: string): void {
      accounts.miss(account);
      addresses.miss(address);
    },
    succeeded(account: string): void {
      accounts.clear(account);
    },
  };
}

export type LoginLimits = ReturnType<typeof createLoginLimits>;
