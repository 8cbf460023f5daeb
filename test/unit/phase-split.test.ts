import assert from 'node:assert/strict';
import { test } from 'node:test';
import { covered, DOCKER_WORK, splitRecovery, type RecoverySplit } from '../../bench/phase-split.js';

const parts = (s: RecoverySplit) => s.engineRelease + s.dockerStop + s.vrrp + s.engineTakeover + s.dockerStart + s.harborReady + s.measurement;

test('covered counts overlapping container starts once and clips to the window', () => {
  assert.equal(
    covered(
      [
        { start: 0, end: 100 },
        { start: 50, end: 150 },
        { start: 300, end: 400 },
      ],
      0,
      1000,
    ),
    250,
  );
  assert.equal(covered([{ start: 0, end: 100 }], 40, 60), 20);
  assert.equal(covered([], 0, 10), 0);
});

test('a crash: VRRP, engine, Docker, readiness and the measurement add up to the recovery', () => {
  const s = splitRecovery({
    faultAt: 1000,
    takeoverAt: 1300,
    newDocker: [
      { start: 1600, end: 1700 },
      { start: 1650, end: 1800 },
      { start: 1850, end: 1900 },
    ],
    firstHealthyAt: 1980,
    servingAt: 2000,
    pullOkAt: 2100,
    oldReleaseEndAt: null,
    oldDocker: [],
  });
  assert.deepEqual(
    { vrrp: s.vrrp, dockerStart: s.dockerStart, harborReady: s.harborReady, engine: s.engine, measurement: s.measurement, total: s.total },
    { vrrp: 300, dockerStart: 250, harborReady: 80, engine: 370, measurement: 100, total: 1100 },
  );
  assert.equal(parts(s), s.total);
});

test("a switchover: the old master's stop is Docker's, its release the engine's, then VRRP's hand-over", () => {
  const s = splitRecovery({
    faultAt: 0,
    oldDocker: [{ start: 20, end: 320 }],
    oldReleaseEndAt: 400,
    takeoverAt: 500,
    newDocker: [{ start: 600, end: 900 }],
    firstHealthyAt: 950,
    servingAt: 1000,
    pullOkAt: 1050,
  });
  assert.deepEqual([s.engineRelease, s.dockerStop, s.vrrp, s.engineTakeover, s.dockerStart, s.harborReady, s.measurement], [100, 300, 100, 150, 300, 50, 50]);
  assert.equal(s.engine, 250);
  assert.equal(parts(s), s.total);
});

test('Harbor healthy before the last Docker call ends: no readiness counted, nothing double-counted', () => {
  const s = splitRecovery({
    faultAt: 0,
    takeoverAt: 100,
    newDocker: [{ start: 200, end: 500 }],
    firstHealthyAt: 400,
    servingAt: 600,
    pullOkAt: 700,
    oldReleaseEndAt: null,
    oldDocker: [],
  });
  assert.equal(s.harborReady, 0);
  assert.equal(s.engineTakeover, 200);
  assert.equal(parts(s), s.total);
});

test("Docker work is what starts, stops or updates containers; listing them is the engine's", () => {
  for (const what of ['docker start harbor-core', 'docker stop nginx', 'docker update redis restart=no', 'compose up', 'compose down'])
    assert.match(what, DOCKER_WORK, what);
  for (const what of ['docker containers', 'compose ps', 'compose config', 'rbd map']) assert.doesNotMatch(what, DOCKER_WORK, what);
});
