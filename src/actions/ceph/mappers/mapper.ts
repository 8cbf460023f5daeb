import type { Holder } from '../../../domain/types.js';
import { addressIp } from '../../../guards/holders.js';
import type { MapperKind } from '../../../domain/kinds.js';
import type { FailureClass } from '../../../domain/failure.js';

export { MAPPER_KINDS, type MapperKind } from '../../../domain/kinds.js';

export interface UnmapOptions {
  /** Last resort: `unmap -o force` (may drop writes a normal unmap would flush). */
  force: boolean;
  /** This node was fenced: its client is dead, do not wait for it to flush. */
  fenced: boolean;
}

/** Puts the RBD image behind a local block device and takes it away again. */
export interface Mapper {
  readonly kind: MapperKind;
  /** Map the image; resolves to the block device (`/dev/rbd0`, `/dev/nbd0`, `/dev/loop3`). */
  map(signal?: AbortSignal): Promise<string>;
  unmap(device: string, options: UnmapOptions, signal?: AbortSignal): Promise<void>;
  /** The device the image is mapped on by this node right now, or null. */
  current(signal?: AbortSignal): Promise<string | null>;
  /**
   * This node's client instances (`ip:port/nonce`) behind `device`: what the owner record names,
   * so a takeover can fence exactly them even after their watch has timed out. `watchers`: the
   * image's watchers when the caller has just read them (else the mapper reads them if it needs to).
   */
  clients(device: string, ownIps: readonly string[], signal?: AbortSignal, watchers?: readonly Holder[]): Promise<string[]>;
  /**
   * The data path is dead (fenced, lost Ceph) and Harbor is about to be killed: make I/O blocked
   * on the device fail now instead of hanging, so the processes stuck on it can exit. True when
   * something was aborted. Never on a live path: it drops writes a flush would keep.
   */
  abortDataPath(signal?: AbortSignal): Promise<boolean>;
}

/**
 * Userspace mappers are visible only as watchers; the other node's watchers are told apart by IP
 * (the CLI that asks registers no watch of its own).
 */
export function ownWatcherAddresses(watchers: readonly Holder[], ownIps: readonly string[]): string[] {
  return [
    ...new Set(
      watchers
        .map((w) => w.address)
        .filter((a) => {
          const ip = addressIp(a);
          return ip !== null && ownIps.includes(ip);
        }),
    ),
  ];
}

/**
 * Operator hints for the map failures the original README lists, recognised by their exact text.
 * Each says what the operator does (its class): retrying cannot help, so the step gives up at once.
 */
export function explainMapFailure(stderr: string): { text: string; failureClass: FailureClass } | null {
  if (/failed to load rbd kernel module|sysfs write failed[\s\S]*No such file or directory/.test(stderr)) {
    return { text: 'the rbd kernel module is missing: run `modprobe rbd` on the host, or set ceph.mapper to rbd-nbd or fuse', failureClass: 'not-installed' };
  }
  if (/failed to add secret .* to kernel/.test(stderr)) {
    return {
      text: 'the kernel keyring is not reachable (containers: run with --security-opt seccomp=unconfined, or on the host)',
      failureClass: 'misconfigured',
    };
  }
  if (/Operation not permitted/.test(stderr)) {
    return { text: 'mapping needs root (CAP_SYS_ADMIN)', failureClass: 'misconfigured' };
  }
  if (/image uses unsupported features/.test(stderr)) {
    return { text: 'the kernel does not support all image features: disable them with `rbd feature disable` or use rbd-nbd', failureClass: 'misconfigured' };
  }
  return null;
}
