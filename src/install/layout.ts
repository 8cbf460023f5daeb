import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where this program is installed. The Debian package and the tarball share one tree under a
 * prefix (`/usr/lib/harbor-assistant` or `/opt/harbor-assistant`):
 *   bin/       harbor-assistant, harborctl, keepalivedctl, harbor-assistant-check (sh, absolute paths)
 *   runtime/   node (the pinned Node.js LTS the package brings)
 *   app/       the bundled program (main.mjs and its chunks) and ceph-session.py
 *   share/     systemd units, example configuration, .env template, Prometheus rules (tarball;
 *              the .deb puts units in /lib/systemd/system and the rest under /usr/share)
 *   PACKAGE    JSON: { "version", "kind": "deb" | "tarball", "prefix" }
 * A checkout (dist/ built by tsc) has no PACKAGE file: kind `checkout`.
 */
export type InstallKind = 'deb' | 'tarball' | 'checkout';

export interface InstallLayout {
  kind: InstallKind;
  /** The tree's root; for a checkout, the repository. */
  prefix: string;
  /** The wrappers in bin/ (a checkout has none: null). */
  bin: string | null;
  /** keepalived's track_script as installed (root-owned, not writable by others). */
  checkScript: string | null;
  /** The systemd units shipped with this tree (deb: already in /lib/systemd/system). */
  unitsDir: string | null;
  /** Example YAML, .env template and Prometheus rules. */
  shareDir: string | null;
}

interface PackageFile {
  version: string;
  kind: 'deb' | 'tarball';
  prefix: string;
}

export const DEB_PREFIX = '/usr/lib/harbor-assistant';
export const TARBALL_PREFIX = '/opt/harbor-assistant';
export const SYSTEM_UNITS_DIR = '/lib/systemd/system';

function readPackageFile(prefix: string): PackageFile | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(prefix, 'PACKAGE'), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { version, kind } = parsed as Record<string, unknown>;
    if (typeof version !== 'string' || (kind !== 'deb' && kind !== 'tarball')) return null;
    return { version, kind, prefix };
  } catch {
    return null;
  }
}

/** The layout this program runs from, judged by where its own code is (`moduleUrl`: import.meta.url). */
export function installLayoutOf(moduleUrl: string): InstallLayout {
  // bundled: <prefix>/app/<chunk>.mjs; checkout: <repo>/dist/<dir>/<file>.js or src/<dir>/<file>.ts
  const appDir = dirname(fileURLToPath(moduleUrl));
  const prefix = dirname(appDir);
  const pkg = readPackageFile(prefix);
  if (pkg === null) return { kind: 'checkout', prefix: dirname(prefix), bin: null, checkScript: null, unitsDir: null, shareDir: null };
  const bin = join(prefix, 'bin');
  return {
    kind: pkg.kind,
    prefix,
    bin,
    checkScript: join(bin, 'harbor-assistant-check'),
    unitsDir: pkg.kind === 'deb' ? SYSTEM_UNITS_DIR : join(prefix, 'share', 'systemd'),
    shareDir: pkg.kind === 'deb' ? '/usr/share/harbor-assistant' : join(prefix, 'share'),
  };
}

/** This program's own layout. */
export function installLayout(): InstallLayout {
  return installLayoutOf(import.meta.url);
}
