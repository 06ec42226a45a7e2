import { describe, expect, it } from 'vitest';
import { loadConfig, publicBaseUrl, settings, type Config } from './index.js';

describe('loadConfig', () => {
  it('uses the defaults when nothing is set', () => {
    const config = loadConfig();
    expect(config).toMatchObject({
      db: 'sqlite:./data/switchboard.db',
      host: '127.0.0.1',
      port: 8787,
      publicUrl: '',
      logLevel: 'info',
      staleAfterMin: 120,
      staleSweepIntervalSec: 60,
      bodyLimitBytes: 1024 * 1024,
      quarantineBodyBytes: 64 * 1024,
      commitMaxBatch: 512,
      commitMaxQueue: 20_000,
      commitMaxInFlight: 2,
      shutdownTimeoutSec: 20,
    });
    // one value per setting, each its default
    expect(Object.keys(config).sort()).toEqual(Object.keys(settings).sort());
    for (const key of Object.keys(settings) as Array<keyof Config>) expect(config[key], key).toEqual(settings[key].default);
  });

  it('does not read process.env unless given it', () => {
    const saved = process.env.PORT;
    process.env.PORT = '1234';
    try {
      expect(loadConfig().port).toBe(8787);
      expect(loadConfig(process.env).port).toBe(1234);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('takes the environment over the defaults', () => {
    const config = loadConfig({
      SWITCHBOARD_DB: 'postgres://db.internal/sb', HOST: '0.0.0.0', PORT: '9000', LOG_LEVEL: 'debug',
      SWITCHBOARD_PUBLIC_URL: 'https://hooks.example.com', SWITCHBOARD_COMMIT_MAX_BATCH: '64', SWITCHBOARD_QUARANTINE_BODY_BYTES: '0',
    });
    expect(config).toMatchObject({
      db: 'postgres://db.internal/sb', host: '0.0.0.0', port: 9000, logLevel: 'debug', publicUrl: 'https://hooks.example.com',
      commitMaxBatch: 64, quarantineBodyBytes: 0, staleAfterMin: 120,
    });
  });

  it('treats an empty environment variable as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '' })).toMatchObject({ port: 8787, logLevel: 'info' });
  });

  it('takes flags over the environment, whatever their type', () => {
    const config = loadConfig(
      { PORT: '9000', LOG_LEVEL: 'debug', SWITCHBOARD_STALE_AFTER_MIN: '5', HOST: '0.0.0.0' },
      { port: 9100, logLevel: 'warn', staleAfterMin: '7' },
    );
    expect(config).toMatchObject({ port: 9100, logLevel: 'warn', staleAfterMin: 7, host: '0.0.0.0' });
  });

  it('falls back to the environment for a null or undefined flag', () => {
    expect(loadConfig({ PORT: '9000' }, { port: undefined }).port).toBe(9000);
    expect(loadConfig({ PORT: '9000' }, { port: null }).port).toBe(9000);
  });

  it('names the environment variable when its value is invalid', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^Invalid PORT: expected an integer in 0–65535, got "eighty"$/);
    expect(() => loadConfig({ PORT: '65536' })).toThrow('Invalid PORT: expected an integer in 0–65535');
    expect(() => loadConfig({ PORT: '80.5' })).toThrow('Invalid PORT');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/^Invalid LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"$/);
    expect(() => loadConfig({ SWITCHBOARD_STALE_AFTER_MIN: '0' })).toThrow('Invalid SWITCHBOARD_STALE_AFTER_MIN: expected an integer in 1–52560000 (100 years at most), got "0"');
    expect(() => loadConfig({ SWITCHBOARD_BODY_LIMIT_BYTES: '1023' })).toThrow('Invalid SWITCHBOARD_BODY_LIMIT_BYTES: expected an integer ≥ 1024');
    expect(() => loadConfig({ SWITCHBOARD_PUBLIC_URL: 'not a url' })).toThrow('Invalid SWITCHBOARD_PUBLIC_URL');
  });

  it('refuses a period or timeout longer than a timer can wait (24.8 days), which would fire every millisecond', () => {
    // Node runs a timer longer than 2^31 − 1 ms after 1 ms instead: a monthly reconciliation would run all the time.
    expect(() => loadConfig({ SWITCHBOARD_RECONCILE_INTERVAL_MIN: '43200' })).toThrow(
      /^Invalid SWITCHBOARD_RECONCILE_INTERVAL_MIN: expected an integer in 1–35791 \(24\.8 days at most: a timer's longest wait\), got "43200"$/,
    );
    expect(loadConfig({ SWITCHBOARD_RECONCILE_INTERVAL_MIN: '35791' }).reconcileIntervalMin).toBe(35_791);
    expect(() => loadConfig({ SWITCHBOARD_RETENTION_CHECK_SEC: '2592000' })).toThrow('Invalid SWITCHBOARD_RETENTION_CHECK_SEC: expected an integer in 1–2147483');
    expect(loadConfig({ SWITCHBOARD_RETENTION_CHECK_SEC: '604800' }).retentionCheckSec).toBe(604_800);
    expect(() => loadConfig({}, { keepAliveTimeoutSec: 2_147_484 })).toThrow('Invalid --keep-alive-timeout-sec');
    expect(() => loadConfig({ SWITCHBOARD_STATEMENT_TIMEOUT_MS: String(2 ** 31) })).toThrow('Invalid SWITCHBOARD_STATEMENT_TIMEOUT_MS');
    expect(loadConfig({ SWITCHBOARD_STATEMENT_TIMEOUT_MS: '0' }).statementTimeoutMs).toBe(0);
    // Every knob that becomes a timer's delay is bounded: its largest accepted value, in milliseconds, fits in 32 bits.
    const timers: Array<[string, number]> = [
      ['SWITCHBOARD_STALE_SWEEP_SEC', 1000], ['SWITCHBOARD_SHUTDOWN_TIMEOUT_SEC', 1000], ['SWITCHBOARD_DELIVERY_TIMEOUT_SEC', 1000],
      ['SWITCHBOARD_RELAY_POLL_MS', 1], ['SWITCHBOARD_SEQUENCER_INTERVAL_MS', 1], ['SWITCHBOARD_SEQUENCER_IDLE_MS', 1],
      ['SWITCHBOARD_SEQUENCER_LEASE_MS', 1], ['SWITCHBOARD_STREAM_HEARTBEAT_SEC', 1000], ['SWITCHBOARD_MAINTAIN_SEC', 1000],
      ['SWITCHBOARD_CHECKPOINT_MS', 1], ['SWITCHBOARD_SQLITE_BUSY_TIMEOUT_MS', 1], ['SWITCHBOARD_REQUEST_TIMEOUT_SEC', 1000],
      ['SWITCHBOARD_HEADERS_TIMEOUT_SEC', 1000], ['SWITCHBOARD_CONNECTION_TIMEOUT_SEC', 1000],
    ];
    for (const [env, unitMs] of timers) {
      const largest = Math.floor((2 ** 31 - 1) / unitMs);
      // The delivery lease must outlast the delivery timeout (a test of its own, below).
      const beside = env === 'SWITCHBOARD_DELIVERY_TIMEOUT_SEC' ? { SWITCHBOARD_DELIVERY_LEASE_SEC: String(largest + 2) } : {};
      expect(() => loadConfig({ [env]: String(largest), ...beside }), env).not.toThrow();
      expect(() => loadConfig({ [env]: String(largest + 1), ...beside }), env).toThrow(`Invalid ${env}: expected an integer in`);
    }
  });

  it('refuses a length of time that would make a stored time no date can hold (over 100 years)', () => {
    // 10^10 grace hours made a rotated secret's expiry past the last date JavaScript writes: every read of the
    // destinations then failed. Each such knob's largest accepted value, added to now, is still a date.
    const spans: Array<[string, number]> = [
      ['SWITCHBOARD_STALE_AFTER_MIN', 60_000], ['SWITCHBOARD_DELIVERY_LEASE_SEC', 1000], ['SWITCHBOARD_DISABLE_AFTER_HOURS', 3_600_000],
      ['SWITCHBOARD_SECRET_GRACE_HOURS', 3_600_000], ['SWITCHBOARD_SESSION_TTL_HOURS', 3_600_000], ['SWITCHBOARD_SESSION_IDLE_MIN', 60_000],
      ['SWITCHBOARD_LOGIN_WINDOW_MIN', 60_000], ['SWITCHBOARD_RECONCILE_LOOKBACK_HOURS', 3_600_000], ['SWITCHBOARD_RETENTION_DAYS', 86_400_000],
      ['SWITCHBOARD_RETRY_SCHEDULE', 1000],
    ];
    for (const [env, unitMs] of spans) {
      const largest = Math.floor((36_500 * 86_400_000) / unitMs);
      expect(() => loadConfig({ [env]: String(largest) }), env).not.toThrow();
      expect(new Date(Date.now() + largest * unitMs).toISOString()).toMatch(/^\d{4}-/);
      expect(() => loadConfig({ [env]: String(largest + 1) }), env).toThrow(`Invalid ${env}: expected an integer in`);
    }
    expect(() => loadConfig({ SWITCHBOARD_SECRET_GRACE_HOURS: '10000000000' })).toThrow('(100 years at most)');
    expect(loadConfig({ SWITCHBOARD_RETRY_SCHEDULE: '5, 60' }).retryScheduleSec).toEqual([5, 60]);
  });

  it('refuses a delivery lease that an attempt can outlast: the delivery would be claimed and sent again while in flight', () => {
    // A timeout of 90 s beside the 60 s lease: a receiver taking 70 s got the webhook twice (the first attempt's outcome was dropped).
    expect(() => loadConfig({ SWITCHBOARD_DELIVERY_TIMEOUT_SEC: '90' })).toThrow(
      'Invalid SWITCHBOARD_DELIVERY_LEASE_SEC: 60 s is too short for SWITCHBOARD_DELIVERY_TIMEOUT_SEC 90 s; it must be at least the timeout + 2 s (92)',
    );
    expect(() => loadConfig({}, { deliveryLeaseSec: 16 })).toThrow('Invalid --delivery-lease-sec: 16 s is too short for SWITCHBOARD_DELIVERY_TIMEOUT_SEC 15 s');
    expect(loadConfig({ SWITCHBOARD_DELIVERY_TIMEOUT_SEC: '90', SWITCHBOARD_DELIVERY_LEASE_SEC: '92' })).toMatchObject({ deliveryTimeoutSec: 90, deliveryLeaseSec: 92 });
    expect(loadConfig({}, { deliveryLeaseSec: 3, deliveryTimeoutSec: 1 })).toMatchObject({ deliveryTimeoutSec: 1, deliveryLeaseSec: 3 });
  });

  it("bounds a page of Convolo's call list at 16 MiB by default, and takes 1–256 MiB", () => {
    expect(loadConfig().reconcileMaxPageMb).toBe(16);
    expect(loadConfig({ SWITCHBOARD_RECONCILE_MAX_PAGE_MB: '1' }).reconcileMaxPageMb).toBe(1);
    expect(loadConfig({}, { reconcileMaxPageMb: 256 }).reconcileMaxPageMb).toBe(256);
    for (const raw of ['0', '257', '1.5', '-1', 'lots']) {
      expect(() => loadConfig({ SWITCHBOARD_RECONCILE_MAX_PAGE_MB: raw }), raw).toThrow('Invalid SWITCHBOARD_RECONCILE_MAX_PAGE_MB: expected an integer in 1–256');
    }
  });

  it('names the flag when its value is invalid, even if the environment is valid', () => {
    expect(() => loadConfig({ PORT: '9000' }, { port: -1 })).toThrow(/^Invalid --port: /);
    expect(() => loadConfig({}, { commitMaxInFlight: 0 })).toThrow('Invalid --commit-max-in-flight');
    expect(() => loadConfig({}, { staleSweepIntervalSec: 'often' })).toThrow('Invalid --stale-sweep-sec');
    expect(() => loadConfig({}, { publicUrl: '::nope' })).toThrow('Invalid --public-url');
  });

  it('accepts sqlite: and postgres URLs and refuses other databases without showing their password', () => {
    expect(loadConfig({ SWITCHBOARD_DB: 'sqlite::memory:' }).db).toBe('sqlite::memory:');
    expect(loadConfig({}, { db: 'postgresql://u:p@h/d' }).db).toBe('postgresql://u:p@h/d');
    let message = '';
    try {
      loadConfig({ SWITCHBOARD_DB: 'mysql://admin:hunter2@db.internal/sb' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid SWITCHBOARD_DB: /);
    expect(message).toContain('mysql://***@db.internal/sb');
    expect(message).not.toContain('hunter2');
  });

  it('takes a PostgreSQL read database beside a PostgreSQL one only, without showing its password', () => {
    const primary = 'postgres://sb:secret@db-primary/sb';
    expect(loadConfig({ SWITCHBOARD_DB: primary, SWITCHBOARD_DB_READ_URL: 'postgres://sb:secret@db-standby/sb' }).dbReadUrl).toBe('postgres://sb:secret@db-standby/sb');
    expect(loadConfig({ SWITCHBOARD_DB: primary }).dbReadUrl).toBe('');
    expect(() => loadConfig({ SWITCHBOARD_DB_READ_URL: 'postgres://sb@db-standby/sb' })).toThrow(/^Invalid SWITCHBOARD_DB_READ_URL: a read database goes with a PostgreSQL SWITCHBOARD_DB/);
    expect(() => loadConfig({}, { db: 'sqlite:./x.db', dbReadUrl: 'postgres://sb@db-standby/sb' })).toThrow(/^Invalid --db-read-url: /);
    let message = '';
    try {
      loadConfig({ SWITCHBOARD_DB: primary, SWITCHBOARD_DB_READ_URL: 'mysql://admin:hunter2@db.internal/sb' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid SWITCHBOARD_DB_READ_URL: /);
    expect(message).not.toContain('hunter2');
  });

  it('normalises the public URL without its trailing slash', () => {
    expect(loadConfig({ SWITCHBOARD_PUBLIC_URL: 'https://hooks.example.com/' }).publicUrl).toBe('https://hooks.example.com');
    expect(loadConfig({ SWITCHBOARD_PUBLIC_URL: 'HTTPS://Hooks.Example.com/base/' }).publicUrl).toBe('https://hooks.example.com/base');
  });

  it('returns a frozen object', () => {
    const config = loadConfig();
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => { (config as Config).port = 1; }).toThrow(TypeError);
    expect(config.port).toBe(8787);
  });

  it('has an environment variable, a flag and a doc for every setting, none shared', () => {
    const all = Object.values(settings);
    expect(new Set(all.map((s) => s.env)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.flag)).size).toBe(all.length);
    for (const s of all) {
      expect(s.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(s.flag).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(s.doc.length).toBeGreaterThan(0);
    }
  });
});

describe('publicBaseUrl', () => {
  const config = (env: Record<string, string>) => loadConfig(env);

  it('is the configured public URL when there is one', () => {
    expect(publicBaseUrl(config({ SWITCHBOARD_PUBLIC_URL: 'https://hooks.example.com/' }), 8787)).toBe('https://hooks.example.com');
  });

  it('is where the process listens otherwise, on the given port', () => {
    expect(publicBaseUrl(config({}), 4321)).toBe('http://127.0.0.1:4321');
    expect(publicBaseUrl(config({ HOST: 'switchboard.lan' }), 80)).toBe('http://switchboard.lan:80');
  });

  it('shows a wildcard address as loopback', () => {
    expect(publicBaseUrl(config({ HOST: '0.0.0.0' }), 8787)).toBe('http://127.0.0.1:8787');
    expect(publicBaseUrl(config({ HOST: '::' }), 8787)).toBe('http://127.0.0.1:8787');
  });

  it('puts an IPv6 host in brackets', () => {
    expect(publicBaseUrl(config({ HOST: '::1' }), 8787)).toBe('http://[::1]:8787');
  });
});
