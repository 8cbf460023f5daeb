/** The package on the lab's nodes: which .deb, installing it into a node's root, and the command lines it provides. */

import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEB_PREFIX } from '../src/install/layout.js';
import { defaultDebPath } from '../scripts/package/build.js';
import { run } from './exec.js';
import { checkScriptPath, configPath, envPath, LAB, nodeDir, packageRoot, repo, type NodeName } from './topology.js';

/** The package the lab installs on its nodes: HALAB_DEB, else this tree's, built when missing. */
export function labDeb(): string {
  const given = process.env.HALAB_DEB;
  if (given) {
    if (!existsSync(given)) throw new Error(`HALAB_DEB=${given}: no such file`);
    return given;
  }
  const deb = defaultDebPath();
  if (!existsSync(deb)) run([process.execPath, '--import', 'tsx', join(repo, 'scripts', 'package.ts')], { timeoutMs: 600_000 });
  return deb;
}

/**
 * Install `deb` on node `n` the way dpkg leaves it on a host: unpacked into a root of its own
 * (nodeDir/pkg/<deb>), then the node's `root` link moved onto it in one rename, so a running
 * service keeps the files it started from. Writes the node's track_script (keepalived's
 * script security: root-owned, nobody else can write it): the package's own.
 */
export function installPackage(n: NodeName, deb: string): void {
  const into = join(nodeDir(n), 'pkg', basename(deb, '.deb'));
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true, mode: 0o755 });
  run(['dpkg-deb', '-x', deb, into], { timeoutMs: 120_000 });
  const link = packageRoot(n);
  const next = `${link}.next`;
  rmSync(next, { force: true });
  symlinkSync(into, next);
  renameSync(next, link);
  mkdirSync(join(LAB.root, 'bin'), { recursive: true, mode: 0o755 });
  const check = checkScriptPath(n);
  // the package's own track_script, in a path keepalived's script security accepts
  // (renamed into place: keepalived may be running the old one this moment)
  copyFileSync(installed(n, 'bin/harbor-assistant-check'), `${check}.new`);
  chmodSync(`${check}.new`, 0o755);
  renameSync(`${check}.new`, check);
}

/** A path of the installed package's tree on node `n`. */
function installed(n: NodeName, relativePath: string): string {
  return join(packageRoot(n), DEB_PREFIX, relativePath);
}

/** The version of the package node `n` has installed (its PACKAGE file). */
export function installedVersion(n: NodeName): string {
  const parsed = JSON.parse(readFileSync(installed(n, 'PACKAGE'), 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string') throw new Error(`node ${n}: PACKAGE without a version`);
  return parsed.version;
}

/**
 * The service's command line as the installed systemd unit starts it (its ExecStart, with the
 * package's paths inside the node's root): the lab runs what operators install. Other
 * commands run the installed program on the bundled runtime.
 */
export function engineArgv(n: NodeName, ...args: string[]): string[] {
  const options = ['--config', configPath(n), '--env', envPath(n)];
  if (args[0] !== 'run') return [installed(n, 'runtime/node'), installed(n, 'app/main.mjs'), ...args, ...options];
  const unit = readFileSync(join(packageRoot(n), 'lib', 'systemd', 'system', 'harbor-assistant.service'), 'utf8');
  const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
  if (!execStart) throw new Error(`node ${n}: the installed unit has no ExecStart`);
  const argv = execStart
    .trim()
    .split(/\s+/)
    .map((word) => (word.startsWith(`${DEB_PREFIX}/`) ? join(packageRoot(n), word) : word));
  // the unit's scheduling priority, as systemd would set it
  const nice = /^Nice=(-?\d+)$/m.exec(unit)?.[1];
  return [...(nice !== undefined ? ['nice', '-n', nice] : []), ...argv, ...args.slice(1), ...options];
}
