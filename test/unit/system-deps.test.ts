/**
 * The first-run check, `scripts/system-deps.mjs`, run as `npm` runs it: a child process of bare
 * `node`. A machine that has the packages cannot be made to miss one, so dpkg, apt-get, sudo, id
 * and the Python are small shell scripts on a PATH of their own: dpkg answers from a list of
 * installed packages, apt-get adds to that list, and each records how it was called.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = 'scripts/system-deps.mjs';

let dir: string;
let bin: string;

/** The shims; each appends `<name> <args>` to calls.log. They use shell built-ins only: PATH holds nothing else. */
const SHIMS: Record<string, string> = {
  dpkg: `
echo "dpkg $*" >> "$SHIM_DIR/calls.log"
if [ -f "$SHIM_DIR/installed" ]; then
  while read -r p; do
    if [ "$p" = "$2" ]; then printf 'Package: %s\\nStatus: install ok installed\\n' "$2"; exit 0; fi
  done < "$SHIM_DIR/installed"
fi
echo "dpkg-query: package '$2' is not installed and no information is available" >&2
exit 1`,
  'apt-get': `
echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "$SHIM_DIR/calls.log"
[ -n "$SHIM_APT_FAIL" ] && { echo "E: Unable to locate package" >&2; exit 100; }
if [ "$1" = install ]; then
  shift 2
  for p in "$@"; do echo "$p" >> "$SHIM_DIR/installed"; done
fi
exit 0`,
  sudo: `
echo "sudo $*" >> "$SHIM_DIR/calls.log"
[ "$1" = -n ] || exit 1
shift
if [ "$1" = true ]; then exit "\${SHIM_SUDO_STATUS:-1}"; fi
exec "$@"`,
  id: `
echo "id $*" >> "$SHIM_DIR/calls.log"
echo "\${SHIM_UID:-1000}"`,
  python3: `
echo "python3 $*" >> "$SHIM_DIR/calls.log"
exit "\${SHIM_PYTHON_STATUS:-1}"`,
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-system-deps-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Puts these shims on the PATH; the packages listed are the installed ones. */
function machine(shims: string[], installed: string[] = []): void {
  for (const name of shims) {
    const file = join(bin, name);
    writeFileSync(file, `#!/bin/sh${SHIMS[name]}\n`);
    chmodSync(file, 0o755);
  }
  if (installed.length > 0) writeFileSync(join(dir, 'installed'), `${installed.join('\n')}\n`);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The shims' calls, in order. */
  calls: string[];
}

function check(args: string[], env: Record<string, string> = {}): Run {
  const res = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { PATH: bin, SHIM_DIR: dir, MLOPS_PYTHON: join(bin, 'python3'), ...env },
  });
  const log = join(dir, 'calls.log');
  return {
    code: res.status,
    stdout: res.stdout,
    stderr: res.stderr,
    calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [],
  };
}

const ALL = ['python3-xgboost', 'python3-scipy', 'chromium'];

describe('scripts/system-deps.mjs', () => {
  it('GIVEN --help WHEN it runs THEN it prints the purposes, their packages and the exit codes, and checks nothing', () => {
    machine(['dpkg']);
    const run = check(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: node scripts/system-deps.mjs [--for <purpose>]');
    expect(run.stdout).toContain('test: python3-xgboost, python3-scipy, chromium');
    expect(run.stdout).toContain('demo: python3-xgboost');
    expect(run.stdout).toContain('Exit codes: 0 ready');
    expect(run.calls).toEqual([]);
  });

  it('GIVEN an unknown purpose or argument WHEN it runs THEN it exits 2 naming it', () => {
    machine(['dpkg']);
    const purpose = check(['--for', 'deploy']);
    expect(purpose.code).toBe(2);
    expect(purpose.stderr).toContain('--for must be one of demo, start, test; got "deploy"');
    const unknown = check(['--quiet']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown argument "--quiet"');
    expect([...purpose.calls, ...unknown.calls]).toEqual([]);
  });

  it('GIVEN every package installed WHEN the tests are checked THEN it asks dpkg for each, prints nothing and exits 0', () => {
    machine(['dpkg', 'apt-get', 'sudo', 'id'], ALL);
    const run = check(['--for', 'test']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.calls).toEqual(ALL.map((p) => `dpkg -s ${p}`));
  });

  it('GIVEN chromium missing WHEN the demo is checked THEN it needs only XGBoost and installs nothing', () => {
    machine(['dpkg', 'apt-get', 'sudo', 'id'], ['python3-xgboost']);
    const run = check(['--for', 'demo']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.calls).toEqual(['dpkg -s python3-xgboost']);
  });

  it('GIVEN a missing package, a user without sudo WHEN checked THEN it exits 2 at once with the one command to run', () => {
    machine(['dpkg', 'apt-get', 'id'], ['python3-xgboost']);
    const run = check(['--for', 'test']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('npm test needs Debian packages that are not installed:');
    expect(run.stderr).toContain('python3-scipy: SciPy');
    expect(run.stderr).toContain('chromium: Chromium');
    expect(run.stderr).toContain(
      '    sudo apt-get update && sudo apt-get install -y python3-scipy chromium\n',
    );
    expect(run.calls.filter((c) => c.startsWith('apt-get'))).toEqual([]);
  });

  it('GIVEN a missing package, sudo that wants a password WHEN checked THEN it exits 2 without installing', () => {
    machine(['dpkg', 'apt-get', 'sudo', 'id']);
    const run = check(['--for', 'demo'], { SHIM_SUDO_STATUS: '1' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('sudo apt-get update && sudo apt-get install -y python3-xgboost\n');
    expect(run.stderr).toContain('then npm run demo again.');
    expect(run.calls).toEqual(['dpkg -s python3-xgboost', 'id -u', 'sudo -n true']);
  });

  it('GIVEN a missing package, root WHEN checked THEN it says what it installs, runs apt-get update and install -y, and exits 0', () => {
    machine(['dpkg', 'apt-get', 'id'], ['python3-xgboost']);
    const run = check(['--for', 'test'], { SHIM_UID: '0' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('npm test needs Debian packages that are not installed; installing them:');
    expect(run.stdout).toContain('$ apt-get update\n');
    expect(run.stdout).toContain('$ apt-get install -y python3-scipy chromium\n');
    expect(run.stdout).toContain('installed python3-scipy, chromium.');
    expect(run.calls.filter((c) => !c.startsWith('dpkg'))).toEqual([
      'id -u',
      'apt-get update DEBIAN_FRONTEND=noninteractive',
      'apt-get install -y python3-scipy chromium DEBIAN_FRONTEND=noninteractive',
    ]);
    // Checked again after the installation.
    expect(run.calls.slice(-2)).toEqual(['dpkg -s python3-scipy', 'dpkg -s chromium']);
  });

  it('GIVEN a missing package, password-less sudo WHEN checked THEN it installs through sudo -n', () => {
    machine(['dpkg', 'apt-get', 'sudo', 'id']);
    const run = check(['--for', 'demo'], { SHIM_SUDO_STATUS: '0' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('installing them with sudo:');
    expect(run.stdout).toContain('$ sudo -n apt-get install -y python3-xgboost\n');
    expect(run.calls.filter((c) => c.startsWith('sudo') || c.startsWith('apt-get'))).toEqual([
      'sudo -n true',
      'sudo -n apt-get update',
      'apt-get update DEBIAN_FRONTEND=noninteractive',
      'sudo -n apt-get install -y python3-xgboost',
      'apt-get install -y python3-xgboost DEBIAN_FRONTEND=noninteractive',
    ]);
  });

  it('GIVEN root and an apt-get that fails WHEN checked THEN it exits 1 naming what is still missing', () => {
    machine(['dpkg', 'apt-get', 'id']);
    const run = check(['--for', 'demo'], { SHIM_UID: '0', SHIM_APT_FAIL: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the installation failed: python3-xgboost still not installed.');
    // apt-get update failed, so install was not tried.
    expect(run.calls.filter((c) => c.startsWith('apt-get'))).toEqual([
      'apt-get update DEBIAN_FRONTEND=noninteractive',
    ]);
  });

  it('GIVEN no dpkg and a Python with XGBoost WHEN checked THEN it names the packages and goes on', () => {
    machine(['python3']);
    const run = check(['--for', 'demo'], { SHIM_PYTHON_STATUS: '0' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('no dpkg here');
    expect(run.stdout).toContain('python3-xgboost: XGBoost 1.7');
    expect(run.stdout).toContain('imports xgboost: going on.');
    expect(run.calls).toEqual(['python3 -c import xgboost']);
  });

  it('GIVEN no dpkg and a Python without XGBoost WHEN checked THEN it exits 2 saying what to install', () => {
    machine(['python3']);
    const run = check(['--for', 'test'], { SHIM_PYTHON_STATUS: '1' });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('chromium: Chromium');
    expect(run.stderr).toContain('cannot import xgboost, scipy');
    expect(run.stderr).toContain('then run npm test again.');
  });
});

describe('where the check runs', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

  it('GIVEN package.json WHEN npm runs demo, start or test THEN the check for that purpose runs first', () => {
    expect(pkg.scripts['predemo']).toBe('node scripts/system-deps.mjs --for demo');
    expect(pkg.scripts['prestart']).toBe('node scripts/system-deps.mjs --for start');
    expect(pkg.scripts['pretest']).toBe('node scripts/system-deps.mjs --for test');
  });

  it('GIVEN .ci/run WHEN it starts THEN it runs the same check before npm ci, and no dpkg loop of its own', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    expect(ci).toContain('set -euo pipefail');
    expect(ci.indexOf('node scripts/system-deps.mjs --for test')).toBeGreaterThan(-1);
    expect(ci.indexOf('node scripts/system-deps.mjs --for test')).toBeLessThan(ci.indexOf('npm ci'));
    expect(ci).not.toContain('dpkg');
    expect(ci.trimEnd().endsWith('npm test')).toBe(true);
  });
});
