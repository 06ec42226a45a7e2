/**
 * Configuration: loaded once (defaults < environment < flags), validated, frozen. Nothing else in the code
 * reads process.env. Each setting carries a `doc` string; `switchboard start --help` and the README list them.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  db: string;
  host: string;
  port: number;
  publicUrl: string;
  logLevel: LogLevel;
  staleAfterMin: number;
  staleSweepIntervalSec: number;
  bodyLimitBytes: number;
  quarantineBodyBytes: number;
  commitMaxBatch: number;
  commitMaxQueue: number;
  commitMaxInFlight: number;
  shutdownTimeoutSec: number;
}

interface Setting<K extends keyof Config> {
  env: string;
  flag: string;
  doc: string;
  default: Config[K];
  parse: (raw: string) => Config[K];
}

const int = (min: number) => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`expected an integer ≥ ${min}, got "${raw}"`);
  return n;
};
const oneOf = <T extends string>(...values: T[]) => (raw: string): T => {
  if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
};
const text = (raw: string): string => raw;

export const settings: { [K in keyof Config]: Setting<K> } = {
  db: { env: 'SWITCHBOARD_DB', flag: 'db', default: 'sqlite:./data/switchboard.db', parse: parseDb, doc: 'Database: sqlite:<path> or postgres://…' },
  host: { env: 'HOST', flag: 'host', default: '127.0.0.1', parse: text, doc: 'Address to listen on.' },
  port: { env: 'PORT', flag: 'port', default: 8787, parse: int(0), doc: 'Port to listen on (0 picks a free one).' },
  publicUrl: { env: 'SWITCHBOARD_PUBLIC_URL', flag: 'public-url', default: '', parse: parseUrl, doc: 'Base URL printed in ingest URLs (default: http://<host>:<port>).' },
  logLevel: { env: 'LOG_LEVEL', flag: 'log-level', default: 'info', parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), doc: 'Log level.' },
  staleAfterMin: { env: 'SWITCHBOARD_STALE_AFTER_MIN', flag: 'stale-after-min', default: 120, parse: int(1), doc: 'A call with no end_call after this many minutes becomes stale.' },
  staleSweepIntervalSec: { env: 'SWITCHBOARD_STALE_SWEEP_SEC', flag: 'stale-sweep-sec', default: 60, parse: int(1), doc: 'How often stale calls are looked for.' },
  bodyLimitBytes: { env: 'SWITCHBOARD_BODY_LIMIT_BYTES', flag: 'body-limit-bytes', default: 1024 * 1024, parse: int(1024), doc: 'Largest ingest body accepted (larger: 413).' },
  quarantineBodyBytes: { env: 'SWITCHBOARD_QUARANTINE_BODY_BYTES', flag: 'quarantine-body-bytes', default: 64 * 1024, parse: int(0), doc: 'How much of a malformed body is kept in quarantine.' },
  commitMaxBatch: { env: 'SWITCHBOARD_COMMIT_MAX_BATCH', flag: 'commit-max-batch', default: 512, parse: int(1), doc: 'Most ingest requests committed in one transaction.' },
  commitMaxInFlight: { env: 'SWITCHBOARD_COMMIT_MAX_IN_FLIGHT', flag: 'commit-max-in-flight', default: 2, parse: int(1), doc: 'Group commits handed to the database at the same time (they still commit in order).' },
  commitMaxQueue: { env: 'SWITCHBOARD_COMMIT_MAX_QUEUE', flag: 'commit-max-queue', default: 20_000, parse: int(1), doc: 'Ingest requests waiting for a commit beyond which new ones get 503.' },
  shutdownTimeoutSec: { env: 'SWITCHBOARD_SHUTDOWN_TIMEOUT_SEC', flag: 'shutdown-timeout-sec', default: 20, parse: int(1), doc: 'How long a graceful shutdown may take before the process exits anyway.' },
};

function parseDb(raw: string): string {
  if (raw.startsWith('sqlite:') || raw.startsWith('postgres://') || raw.startsWith('postgresql://')) return raw;
  throw new Error(`expected sqlite:<path> or postgres://…, got "${raw.replace(/\/\/[^@]*@/, '//***@')}"`);
}

function parseUrl(raw: string): string {
  if (raw === '') return raw;
  const url = new URL(raw);
  return url.toString().replace(/\/$/, '');
}

export type Flags = Partial<Record<keyof Config, string | number | boolean | null | undefined>>;

export function loadConfig(env: NodeJS.ProcessEnv = {}, flags: Flags = {}): Readonly<Config> {
  const config = {} as Record<keyof Config, unknown>;
  for (const key of Object.keys(settings) as Array<keyof Config>) {
    const setting = settings[key] as Setting<typeof key>;
    const flag = flags[key];
    const raw = flag !== undefined && flag !== null ? String(flag) : env[setting.env];
    try {
      config[key] = raw === undefined || raw === '' ? setting.default : setting.parse(raw);
    } catch (error) {
      const origin = flag !== undefined && flag !== null ? `--${setting.flag}` : setting.env;
      throw new Error(`Invalid ${origin}: ${(error as Error).message}`);
    }
  }
  const result = config as unknown as Config;
  return Object.freeze(result);
}

/** The base URL users paste from: the configured public URL, or where this process listens. */
export function publicBaseUrl(config: Config, port: number): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
