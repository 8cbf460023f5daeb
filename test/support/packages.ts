import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OUT_DIR, packageJsonVersion } from '../../scripts/package/build.js';

/**
 * The artifacts the install tests and the lab use: this tree's package (version N, what
 * `npm run package` built) and the same tree as version N+1 for upgrades. The test command
 * builds both first; a test run on its own builds what is missing.
 */
const repo = join(import.meta.dirname, '..', '..');

export interface Artifacts {
  version: string;
  deb: string;
  tarball: string;
}

function artifacts(version: string, outDir: string): Artifacts {
  return {
    version,
    deb: join(outDir, `harbor-assistant_${version}_amd64.deb`),
    tarball: join(outDir, `harbor-assistant-${version}-linux-x64.tar.gz`),
  };
}

function ensure(a: Artifacts, outDir: string): Artifacts {
  if (existsSync(a.deb) && existsSync(a.tarball)) return a;
  execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'package.ts'), '--version', a.version, '--out', outDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600_000,
  });
  return a;
}

export function currentPackage(): Artifacts {
  return ensure(artifacts(packageJsonVersion(), DEFAULT_OUT_DIR), DEFAULT_OUT_DIR);
}

/** The next version: the same tree, a higher Debian version (N+1 sorts after N). */
export function nextVersion(): string {
  return `${packageJsonVersion()}+next1`;
}

export const NEXT_OUT_DIR = join(DEFAULT_OUT_DIR, 'next');

export function nextPackage(): Artifacts {
  return ensure(artifacts(nextVersion(), NEXT_OUT_DIR), NEXT_OUT_DIR);
}

/** dpkg's own ordering, so "N+1 is newer" is Debian's verdict, not ours. */
export function debianVersionLess(a: string, b: string): boolean {
  return spawnSync('dpkg', ['--compare-versions', a, 'lt', b], { timeout: 10_000 }).status === 0;
}
