import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { cephConfText, keyringText } from '../actions/ceph/connection.js';
import type { Config } from '../config/index.js';
import { writeFileAtomic } from '../actions/host/atomic-file.js';

/** State and run directories (0700), the keyring (0600, the only place the key is written) and ceph.conf. */
export function prepareStateFiles(config: Config): void {
  for (const dir of [config.file.node.stateDir, config.file.node.runDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  mkdirSync(dirname(config.file.keepalived.fitnessFile), { recursive: true, mode: 0o700 });
  writeFileAtomic(config.paths.keyring, keyringText(config.env.cephUser, config.env.cephKey.reveal()), 0o600);
  writeFileAtomic(config.paths.cephConf, cephConfText(config.env.monHosts), 0o644);
}

/** The sticky markers: failed and maintenance survive a service restart until an operator clears them. */
export function readMarkers(config: Config): { failed: string | null; maintenance: boolean } {
  const failed = existsSync(config.paths.failedMarker) ? readFileSync(config.paths.failedMarker, 'utf8').trim() || 'failed' : null;
  return { failed, maintenance: existsSync(config.paths.maintenanceMarker) };
}

export function syncMarkers(config: Config, state: { failed: string | null; maintenance: boolean }): void {
  if (state.failed !== null) writeFileAtomic(config.paths.failedMarker, `${state.failed}\n`, 0o600);
  else rmSync(config.paths.failedMarker, { force: true });
  if (state.maintenance) writeFileAtomic(config.paths.maintenanceMarker, `${new Date().toISOString()}\n`, 0o600);
  else rmSync(config.paths.maintenanceMarker, { force: true });
}
