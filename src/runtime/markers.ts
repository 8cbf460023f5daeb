import { rmSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../actions/host/atomic-file.js';

/**
 * The marker files as the machine's actions (provided to the chart like its steps): `failed` and
 * `maintenance` survive a restart, and booting reads them. An action must not throw (it would
 * stop the node actor), so a write that fails is logged loudly instead.
 */
export function markerActions(config: Config, logger: Logger) {
  const attempt = (what: string, effect: () => void) => {
    try {
      effect();
    } catch (e) {
      logger.error(`cannot ${what}: the state will not survive a restart`, { error: e instanceof Error ? e.message : String(e) });
    }
  };
  return {
    persistFailed: (_: unknown, params: { reason: string }) =>
      attempt('write the failed marker', () => writeFileAtomic(config.paths.failedMarker, `${params.reason}\n`, 0o600)),
    clearFailed: () => attempt('remove the failed marker', () => rmSync(config.paths.failedMarker, { force: true })),
    persistMaintenance: () =>
      attempt('write the maintenance marker', () => writeFileAtomic(config.paths.maintenanceMarker, `${new Date().toISOString()}\n`, 0o600)),
    clearMaintenance: () => attempt('remove the maintenance marker', () => rmSync(config.paths.maintenanceMarker, { force: true })),
  };
}
