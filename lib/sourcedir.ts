/**
 * Builds the `sourcedir.tar.gz` that SageMaker script mode downloads and unpacks before it runs the entry
 * script. CDK directory assets are zip files, so the tarball is built here. It is deterministic: the same
 * files give the same bytes (sorted entries, fixed mtime and mode, portable headers, gzip header without a
 * timestamp), so its hash identifies the training code.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { create } from 'tar';

/** A built source tarball. */
export interface SourceDirTarball {
  /** Absolute path of `sourcedir.tar.gz`. */
  readonly path: string;
  /** Hex SHA-256 of the tarball bytes. */
  readonly sha256: string;
  /** The archived files, relative to the source directory, in archive order. */
  readonly files: readonly string[];
}

/** Options for {@link buildSourceDirTarball}. */
export interface SourceDirOptions {
  /**
   * Directory under which the tarball is written, in a sub-directory named by the content hash.
   * @default os.tmpdir()
   */
  readonly outputRoot?: string;
}

const EXCLUDED_DIRS = new Set(['__pycache__', '.pytest_cache', '.mypy_cache']);
const EXCLUDED_SUFFIXES = ['.pyc', '.pyo'];
const FILE_MODE = 0o644;
const EPOCH = new Date(0);

/** Lists the files to archive: every file under `dir` except Python caches, sorted by POSIX path. */
export function listSourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!EXCLUDED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile() && !EXCLUDED_SUFFIXES.some((s) => entry.name.endsWith(s))) {
        files.push(relative(dir, full).split(sep).join('/'));
      }
    }
  };
  walk(dir);
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Builds (or reuses) the deterministic tarball of `sourceDir`. */
export function buildSourceDirTarball(sourceDir: string, options: SourceDirOptions = {}): SourceDirTarball {
  if (!existsSync(sourceDir)) {
    throw new Error(`Training source directory ${sourceDir} does not exist.`);
  }
  const files = listSourceFiles(sourceDir);
  if (files.length === 0) {
    throw new Error(`Training source directory ${sourceDir} holds no files to archive.`);
  }

  const content = createHash('sha256');
  for (const file of files) {
    content
      .update(file)
      .update('\0')
      .update(readFileSync(join(sourceDir, file)))
      .update('\0');
  }
  const contentHash = content.digest('hex');

  const outDir = join(options.outputRoot ?? tmpdir(), `mlops-sourcedir-${contentHash.slice(0, 24)}`);
  const target = join(outDir, 'sourcedir.tar.gz');
  if (!existsSync(target)) {
    mkdirSync(outDir, { recursive: true });
    // Staged copies get a fixed mode, so the archive does not depend on the checkout's permissions.
    const staging = mkdtempSync(join(outDir, 'staging-'));
    try {
      for (const file of files) {
        const staged = join(staging, ...file.split('/'));
        mkdirSync(dirname(staged), { recursive: true });
        copyFileSync(join(sourceDir, ...file.split('/')), staged);
        chmodSync(staged, FILE_MODE);
      }
      const partial = `${target}.${process.pid}.partial`;
      create(
        { sync: true, gzip: { portable: true }, file: partial, cwd: staging, portable: true, mtime: EPOCH },
        files,
      );
      // A rename is atomic, so a concurrent synth sees either no tarball or a complete one.
      renameSync(partial, target);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const sha256 = createHash('sha256').update(readFileSync(target)).digest('hex');
  return { path: target, sha256, files };
}
