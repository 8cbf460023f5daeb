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

/** The advisory lock on the image, as `rbd lock ls --format json` reports it. */
export interface ImageLock {
  /** Lock id; ours are `harbor-assistant/<node>/<generation>`. */
  id: string;
  /** The client that took the lock (`client.4176`): a short-lived CLI instance, not the mapper. */
  locker: string;
  address: string;
}

/**
 * Who owns the image, recorded in the image metadata by the node that took it (under its lock).
 * This, not a watcher list, a mount or a VIP, is the evidence a takeover decides from.
 */
export interface OwnerRecord {
  node: string;
  /** Grows with every takeover (the last value stays in the image after a clean release). */
  generation: number;
  /** The owner's Ceph client IPs: fenced as a whole host when no client instance is known. */
  hosts: string[];
  /** The owner's mapper client instances (`ip:port/nonce`); empty until its map is done. */
  clients: string[];
  /** When the owner claimed the image (ISO, the owner's clock). */
  at: string;
}

/** The ownership evidence in Ceph: the record, the lock, and the last generation ever used. */
export interface OwnershipView {
  record: OwnerRecord | null;
  lock: ImageLock | null;
  lastGeneration: number;
}

/** One look at the image: watchers and ownership together, with when it was taken. */
export interface ImageObservation extends HolderObservation {
  ownership: OwnershipView;
}

/** Whether what this node holds is provably its own, read from Ceph at start-up. */
export type OwnershipVerdict = 'ours' | 'not-ours' | 'unknown';

/** What this node holds right now, read from the world (never from memory). */
export interface Holdings {
  /** Device path of the mapped image (`/dev/rbd0`, `/dev/loop3`), or null. */
  device: string | null;
  mounted: boolean;
  composeRunning: boolean;
}

export interface WorldSnapshot extends Holdings {
  vipHere: boolean;
  /**
   * Something is mounted at the mount point that is not our device (source and type): never
   * unmounted, its users never killed; the node refuses to serve until an operator acts.
   */
  foreignMount: string | null;
  /** Does the Ceph record name this node, with our mapped client? Read only when something is held. */
  ownership: OwnershipVerdict;
  /** The owner record as read at that moment (null when none, or when nothing is held). */
  owner: OwnerRecord | null;
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
export const RELEASE_EXITS = ['stopped', 'failed', 'fenced', 'maintenance', 'lostCeph', 'standDown', 'idle'] as const;
export type ReleaseExit = (typeof RELEASE_EXITS)[number];
/** Why a release's data path is dead: the exits that say this node's client can no longer write. */
export type DeadPath = Extract<ReleaseExit, 'fenced' | 'lostCeph'>;
export const deadPathOf = (exit: ReleaseExit): DeadPath | null => (exit === 'fenced' || exit === 'lostCeph' ? exit : null);
