import { Option, type Command } from 'commander';
import { settings, type Config, type Flags } from '../config/index.js';

/** The options withConfigFlags added: only they are read back as settings (a command's own `--role` is not SWITCHBOARD_ROLE). */
const settingOptions = new WeakSet<Option>();

/** Adds a flag for each setting (its env name and doc in the help) and reads them back as config flags. */
export function withConfigFlags(command: Command, keys: Array<keyof Config> = Object.keys(settings) as Array<keyof Config>): Command {
  for (const key of keys) {
    const s = settings[key];
    const option = new Option(`--${s.flag} <value>`, `${s.doc} [env ${s.env}, default ${JSON.stringify(s.default)}]`);
    settingOptions.add(option);
    command.addOption(option);
  }
  return command;
}

export function configFlags(command: Command): Flags {
  const values = command.opts<Record<string, string | undefined>>();
  const declared = new Set(command.options.filter((o) => settingOptions.has(o)).map((o) => o.attributeName()));
  const flags: Flags = {};
  for (const key of Object.keys(settings) as Array<keyof Config>) {
    const camel = settings[key].flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (declared.has(camel) && values[camel] !== undefined) flags[key] = values[camel];
  }
  return flags;
}
