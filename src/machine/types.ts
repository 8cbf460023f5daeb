/** Domain values shared by the machine, its guards and the action implementations. */

export type VrrpState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** Harbor health after rise/fall hysteresis. */
export type HealthVerdict = 'healthy' | 'degraded' | 'down';

/** One client watching the RBD image, as `rbd status --format json` reports it. */
export interface Holder {
  /** Client instance address `ip:port/nonce`, e.g. `10.0.0.1:0/4225036114`. */
  address: string;
  client?: number;
  cookie?: number;
}

/** A holder with the first time this node saw it (ms, the actor clock of whoever observed it). */
export interface KnownHolder {
  address: string;
  firstSeenAt: number;
}

export interface HolderObservation {
  holders: Holder[];
  observedAt: number;
}

/** What this node holds right now, read from the world (never from memory). */
export interface Holdings {
  /** Device path of the mapped image (`/dev/rbd0`, `/dev/loop3`), or null. */
  device: string | null;
  mounted: boolean;
  composeRunning: boolean;
}

export interface WorldSnapshot extends Holdings {
  vipHere: boolean;
  /** Set when an operator must act before this node may serve again (survives restarts). */
  failedMarker: string | null;
  maintenanceMarker: boolean;
}

export interface FilesystemProbe {
  /** `blkid` TYPE, or null when no filesystem signature was found. */
  fsType: string | null;
  /** True when the image metadata records that harbor-assistant formatted it once. */
  formattedBefore: boolean;
}

/** Where `releasing` goes when it is done; higher in this list wins when several apply. */
export const RELEASE_EXITS = ['stopped', 'failed', 'fenced', 'maintenance', 'standDown', 'idle'] as const;
export type ReleaseExit = (typeof RELEASE_EXITS)[number];
