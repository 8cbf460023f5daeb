import { fromPromise } from 'xstate';
import type { FilesystemProbe, HolderObservation, ImageLock, ImageObservation, WorldSnapshot } from '../domain/types.js';

/**
 * The contract between the statechart and the world: every invoked step by name, with its
 * input and output. The machine ships placeholders that refuse to run; the service provides
 * real zx-backed implementations and tests provide fakes, both through `machine.provide()`.
 */
export interface DeviceInput {
  device: string;
}
export interface FenceInput {
  addresses: string[];
}
export interface FenceOutput {
  fenced: string[];
}
export interface MapOutput {
  device: string;
}
export interface UnmapInput {
  device: string | null;
  /** Last resort (`unmap -o force`); never while mounted. */
  force: boolean;
  /** This node was fenced: treat its client as dead (no flush, kill the mapper). */
  fenced: boolean;
}
export interface UnmountInput {
  /** Our device (never unmount what is not ours), or null when only the mount is known. */
  device: string | null;
  fenced: boolean;
}
export interface ClaimInput {
  generation: number;
  lockId: string;
  /** A foreign or stale lock to break first (its owner was fenced, or it is our own old one). */
  breakLock: ImageLock | null;
}
/** claimed false: another node took the lock first (the atomic `rbd lock add` said busy). */
export interface ClaimOutput {
  claimed: boolean;
  holder: ImageLock | null;
}
export interface RecordInput {
  device: string;
  generation: number;
  lockId: string;
}
export interface RecordOutput {
  clients: string[];
}
/** What the machine knows it started: a survey may skip asking (compose down is harmless when nothing runs). */
export interface ReadWorldInput {
  composeKnownRunning?: boolean;
  /**
   * What is held only, not who owns the image: a release gives back what this node holds whoever
   * Ceph says owns it, so its survey asks Ceph nothing (a node that lost Ceph would wait out the
   * calls' timeouts while it still draws the clients).
   */
  heldOnly?: boolean;
}
export interface ComposeDownInput {
  /**
   * The data path is dead (fenced, lost Ceph): no graceful stop, containers are killed at once.
   * Stuck in uninterruptible I/O they may outlive it; the step's deadline gives up on them.
   */
  dead: boolean;
}
export interface DisownInput {
  generation: number;
  lockId: string;
}

function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() => Promise.reject(new Error(`actor "${name}" has no implementation: provide it with machine.provide()`)));
}

export const actorPlaceholders = {
  readWorld: notProvided<WorldSnapshot, ReadWorldInput>('readWorld'),
  readHolders: notProvided<ImageObservation, Record<string, never>>('readHolders'),
  fence: notProvided<FenceOutput, FenceInput>('fence'),
  verifyFence: notProvided<HolderObservation, FenceInput>('verifyFence'),
  claim: notProvided<ClaimOutput, ClaimInput>('claim'),
  map: notProvided<MapOutput, Record<string, never>>('map'),
  record: notProvided<RecordOutput, RecordInput>('record'),
  probeFilesystem: notProvided<FilesystemProbe, DeviceInput>('probeFilesystem'),
  format: notProvided<void, DeviceInput>('format'),
  fsck: notProvided<void, DeviceInput>('fsck'),
  mount: notProvided<void, DeviceInput>('mount'),
  composeUp: notProvided<void, Record<string, never>>('composeUp'),
  composeDown: notProvided<void, ComposeDownInput>('composeDown'),
  unmount: notProvided<void, UnmountInput>('unmount'),
  unmap: notProvided<void, UnmapInput>('unmap'),
  disown: notProvided<void, DisownInput>('disown'),
};

export type ActorName = keyof typeof actorPlaceholders;
export type NodeActors = typeof actorPlaceholders;
