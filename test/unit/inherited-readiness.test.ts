import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inheritedReadiness, readPreviousStatus } from '../../src/runtime/status-publisher.js';

const now = Date.parse('2026-12-07T06:00:00.000Z');
const grace = 20_000;
const readyStandby = (detachedAgoMs: number) => ({
  state: 'idle',
  tags: ['fit-when-ready', 'standby-poll'],
  fitness: { fit: true, why: 'standby: Ceph answers' },
  detachedAt: new Date(now - detachedAgoMs).toISOString(),
});

test('a ready standby restarted within the grace keeps its readiness, aged from the detach', () => {
  assert.deepEqual(inheritedReadiness(readyStandby(1_500), now, grace), { ok: true, checkedAt: now - 1_500, error: null });
});

test('nothing is inherited past the grace, from a running (not detached) or unfit or non-standby run, or from garbage', () => {
  assert.equal(inheritedReadiness(readyStandby(grace), now, grace), null);
  assert.equal(inheritedReadiness({ ...readyStandby(1_000), detachedAt: undefined }, now, grace), null, 'a crash leaves no detachedAt');
  assert.equal(inheritedReadiness({ ...readyStandby(1_000), fitness: { fit: false, why: 'Ceph unreachable' } }, now, grace), null);
  assert.equal(inheritedReadiness({ ...readyStandby(1_000), tags: ['fit-unless-dead'] }, now, grace), null);
  assert.equal(inheritedReadiness({ ...readyStandby(-5_000) }, now, grace), null, 'a detach in the future is not evidence');
  assert.equal(inheritedReadiness({ ...readyStandby(1_000), detachedAt: 'yesterday' }, now, grace), null);
  for (const junk of [null, 42, 'text', [], { tags: 'fit-when-ready' }]) assert.equal(inheritedReadiness(junk, now, grace), null);
});

test('the previous status is read from its file; a missing or broken file is no status', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-prev-status-'));
  try {
    const file = join(dir, 'status.json');
    assert.equal(readPreviousStatus(file), null);
    writeFileSync(file, '{"state":"idle"');
    assert.equal(readPreviousStatus(file), null);
    writeFileSync(file, JSON.stringify(readyStandby(100)));
    assert.deepEqual(readPreviousStatus(file), readyStandby(100));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
