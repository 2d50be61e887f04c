#!/usr/bin/env node
/**
 * The system packages the project needs, checked before anything else runs: `npm run demo`,
 * `npm start` and `npm test` call it first (npm pre-scripts), and so does `.ci/run`. Plain
 * JavaScript with Node's own modules only, so it runs before `npm ci` and before any TypeScript
 * loader.
 *
 * On Debian or Ubuntu it asks dpkg for each package the purpose needs. A missing one is installed
 * with apt-get when this user may (root, or password-less `sudo -n`), saying so first; otherwise
 * it stops at once with the one command to run, instead of letting a training job fail later with
 * a Python import error. Without dpkg it names what the project needs and goes on only if the
 * Python the twin trains with can import XGBoost.
 *
 * Exit codes: 0 everything is there, 1 an installation was attempted and failed, 2 a person has
 * to act (the command to run is printed) or the arguments were wrong.
 */
import { spawnSync } from 'node:child_process';

/** The Debian packages each purpose needs, and the Python modules they provide. */
const PURPOSES = {
  demo: { command: 'npm run demo', packages: ['python3-xgboost'], modules: ['xgboost'] },
  start: { command: 'npm start', packages: ['python3-xgboost'], modules: ['xgboost'] },
  test: {
    command: 'npm test',
    packages: ['python3-xgboost', 'python3-scipy', 'chromium'],
    modules: ['xgboost', 'scipy'],
  },
};

/** What each package is for, as the messages say it. */
const WHY = {
  'python3-xgboost': 'XGBoost 1.7, which the local twin trains with (the version of SageMaker’s image)',
  'python3-scipy': 'SciPy, the reference the drift statistics are tested against',
  chromium: 'Chromium, which the browser tests drive headless',
};

const USAGE = `Usage: node scripts/system-deps.mjs [--for <purpose>]

Checks that the Debian packages the project needs are installed (dpkg -s), and installs the missing
ones with apt-get when this user may (root, or password-less sudo -n); otherwise stops and prints
the one command to run.

Options:
  --for <purpose>  what the packages are needed for: ${Object.keys(PURPOSES).join(', ')} (default: test)
${Object.entries(PURPOSES)
  .map(([name, p]) => `                     ${name}: ${p.packages.join(', ')}`)
  .join('\n')}
  -h, --help       print this help

Environment:
  MLOPS_PYTHON     the Python the twin trains with (default: /usr/bin/python3); checked for XGBoost
                   on a machine without dpkg

Exit codes: 0 ready, 1 an installation failed, 2 a command has to be run by hand (printed) or the
arguments were wrong.`;

const PREFIX = 'system-deps:';

function say(line) {
  process.stdout.write(`${PREFIX} ${line}\n`);
}

function stop(code, lines) {
  process.stderr.write(`${lines.map((l) => (l === '' ? '' : `${PREFIX} ${l}`)).join('\n')}\n`);
  process.exit(code);
}

/** Parses the arguments; anything unknown stops with the usage. */
function parseArgs(argv) {
  let purpose = 'test';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const value = arg === '--for' ? argv[++i] : arg.startsWith('--for=') ? arg.slice(6) : undefined;
    if (value === undefined && arg !== '--for') stop(2, [`unknown argument "${arg}"; see --help.`]);
    if (!value || !Object.hasOwn(PURPOSES, value))
      stop(2, [
        `--for must be one of ${Object.keys(PURPOSES).join(', ')}; got ${value ? `"${value}"` : 'nothing'}.`,
      ]);
    purpose = value;
  }
  return purpose;
}

/** Runs a command; `missing` is true when it is not on PATH. */
function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { status: res.status, stdout: res.stdout ?? '', missing: res.error?.code === 'ENOENT' };
}

/** Whether dpkg knows the package as installed; undefined when there is no dpkg. */
function isInstalled(pkg) {
  const res = run('dpkg', ['-s', pkg]);
  if (res.missing) return undefined;
  // `dpkg -s` also succeeds for a removed package whose configuration files remain.
  return res.status === 0 && /^Status: install ok installed$/m.test(res.stdout);
}

function isRoot() {
  const res = run('id', ['-u']);
  if (!res.missing && res.status === 0) return res.stdout.trim() === '0';
  return process.getuid?.() === 0;
}

function canSudo() {
  const res = run('sudo', ['-n', 'true'], { stdio: 'ignore' });
  return !res.missing && res.status === 0;
}

/** Runs one step of the installation in the foreground, printing it first; false when it failed. */
function step(argv) {
  say(`$ ${argv.join(' ')}`);
  const res = run(argv[0], argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return !res.missing && res.status === 0;
}

function withoutDpkg(purpose) {
  const { command, packages, modules } = PURPOSES[purpose];
  const python = process.env.MLOPS_PYTHON ?? '/usr/bin/python3';
  say(`no dpkg here, so the system packages cannot be checked. ${command} needs what Debian packages as:`);
  for (const pkg of packages) say(`  ${pkg}: ${WHY[pkg]}`);
  const res = run(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
  if (res.missing || res.status !== 0)
    stop(2, [
      `${python} cannot import ${modules.join(', ')}. Install them for that Python (XGBoost 1.7), or set`,
      `MLOPS_PYTHON to a Python that has them, then run ${command} again.`,
    ]);
  say(`${python} imports ${modules.join(', ')}: going on.`);
}

function main() {
  const purpose = parseArgs(process.argv.slice(2));
  const { command, packages } = PURPOSES[purpose];
  const missing = [];
  for (const pkg of packages) {
    const installed = isInstalled(pkg);
    if (installed === undefined) return withoutDpkg(purpose);
    if (!installed) missing.push(pkg);
  }
  if (missing.length === 0) return;

  const root = isRoot();
  if (!root && !canSudo()) {
    stop(2, [
      `${command} needs Debian packages that are not installed:`,
      ...missing.map((pkg) => `  ${pkg}: ${WHY[pkg]}`),
      'This user is not root and cannot use sudo without a password, so nothing was installed. Run:',
      '',
      `    sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
      '',
      `then ${command} again.`,
    ]);
  }
  const sudo = root ? [] : ['sudo', '-n'];
  say(`${command} needs Debian packages that are not installed; installing them${root ? '' : ' with sudo'}:`);
  for (const pkg of missing) say(`  ${pkg}: ${WHY[pkg]}`);
  if (step([...sudo, 'apt-get', 'update'])) step([...sudo, 'apt-get', 'install', '-y', ...missing]);
  // What counts is what dpkg reports afterwards, not apt-get's exit status alone.
  const still = missing.filter((pkg) => !isInstalled(pkg));
  if (still.length > 0)
    stop(1, [
      `the installation failed: ${still.join(', ')} still not installed. Fix what apt-get reported above and run ${command} again.`,
    ]);
  say(`installed ${missing.join(', ')}.`);
}

main();
