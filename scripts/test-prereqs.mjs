#!/usr/bin/env node
// `npm test`'s first step (pretest): makes sure the machine has what the suites need and npm does not
// bring — PostgreSQL's server binaries (the tests start a throwaway cluster from initdb/pg_ctl) and
// Debian's Chromium (browser tests; never a browser a test tool downloads). As root on Debian it installs
// what is missing with apt-get, as `.ci/run` used to; otherwise it stops at once with the one command to run,
// so a run never fails two minutes in for a missing program.
//
//   node scripts/test-prereqs.mjs            check, install when root
//   node scripts/test-prereqs.mjs --check    check only (exit 1 and the command when something is missing)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { findPgBin } from './pg-cluster.mjs';

const checkOnly = process.argv.includes('--check');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What is needed, how to tell it is there, and the Debian package that brings it. */
const needs = [
  {
    what: 'PostgreSQL server binaries (initdb, pg_ctl)',
    // An external server (SWITCHBOARD_TEST_PG_URL) needs no local binaries.
    present: () => Boolean(process.env.SWITCHBOARD_TEST_PG_URL) || hasPgBin(),
    where: () => (process.env.SWITCHBOARD_TEST_PG_URL ? 'SWITCHBOARD_TEST_PG_URL' : findPgBin()),
    packageName: 'postgresql',
    // The tests start their own clusters: keep the package from creating and starting a system-wide one.
    beforeInstall: () => {
      mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true });
      writeFileSync('/etc/postgresql-common/createcluster.d/switchboard-tests.conf', 'create_main_cluster = false\n');
    },
  },
  {
    what: `Chromium (${chromiumPath})`,
    present: () => existsSync(chromiumPath),
    where: () => chromiumPath,
    packageName: 'chromium',
    beforeInstall: () => {},
  },
];

function hasPgBin() {
  try {
    findPgBin();
    return true;
  } catch {
    return false;
  }
}

const missing = needs.filter((need) => !need.present());
if (missing.length === 0) {
  for (const need of needs) console.log(`test prerequisites: ${need.what}: ${need.where()}`);
  process.exit(0);
}

const packages = missing.map((need) => need.packageName);
const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
if (checkOnly || !isRoot || !hasApt) {
  console.error(`test prerequisites missing: ${missing.map((need) => need.what).join('; ')}.`);
  console.error(hasApt ? `Run: sudo ${command}` : `Install the Debian packages ${packages.join(', ')} (or set PG_BIN / CHROMIUM_PATH / SWITCHBOARD_TEST_PG_URL).`);
  process.exit(1);
}

console.log(`test prerequisites: installing ${packages.join(', ')} with apt-get (missing: ${missing.map((need) => need.what).join('; ')})`);
for (const need of missing) need.beforeInstall();
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
  const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`test prerequisites: \`apt-get ${args.join(' ')}\` failed (exit ${result.status}).`);
    process.exit(1);
  }
}
const still = missing.filter((need) => !need.present());
if (still.length > 0) {
  console.error(`test prerequisites: installed ${packages.join(', ')} but still missing: ${still.map((need) => need.what).join('; ')}.`);
  process.exit(1);
}
for (const need of needs) console.log(`test prerequisites: ${need.what}: ${need.where()}`);
