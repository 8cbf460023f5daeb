import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultUnavailability, resolveServing, summarize, type CampaignResult, type FaultRecord } from '../../lab/campaign/run.js';
import {
  DURATION_MS,
  FAULT_KINDS,
  WATCH_TIMEOUT_MS,
  WINDOW_MAX_MS,
  describeSchedule,
  hasSequential,
  overlaps,
  sameTarget,
  scheduleFor,
  type FaultKind,
} from '../../lab/campaign/schedule.js';

const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);
const schedules = SEEDS.map(scheduleFor);

test('the same seed gives a byte-identical schedule and description; different seeds differ', () => {
  for (const seed of [0, 1, 2, 52, 159, 4_294_967_295]) {
    assert.equal(JSON.stringify(scheduleFor(seed)), JSON.stringify(scheduleFor(seed)));
    assert.equal(describeSchedule(scheduleFor(seed)), describeSchedule(scheduleFor(seed)));
  }
  const texts = new Set(schedules.map((s) => JSON.stringify(s.faults)));
  assert.equal(texts.size, schedules.length, 'seeds 1..200 give 200 different schedules');
  assert.match(describeSchedule(scheduleFor(1)), /^seed 1, window \d+\.\ds: \+\d+\.\ds [a-z-]+\((serving|standby)\)/);
});

test('seeds are unsigned 32-bit integers', () => {
  for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => scheduleFor(bad), RangeError);
});

test('every schedule has 2 to 4 faults, each bounded, all ending inside the window', () => {
  for (const s of schedules) {
    assert.ok(s.faults.length >= 2 && s.faults.length <= 4, `seed ${s.seed}: ${s.faults.length} faults`);
    for (const f of s.faults) {
      const [lo, hi] = DURATION_MS[f.kind];
      assert.ok(f.durationMs >= lo && f.durationMs <= hi, `seed ${s.seed}: ${f.kind} lasts ${f.durationMs} ms, not in ${lo}..${hi}`);
      assert.ok(f.atMs >= 0 && f.atMs + f.durationMs <= WINDOW_MAX_MS, `seed ${s.seed}: ${f.kind} at ${f.atMs} for ${f.durationMs} ends past the window`);
      if (f.kind === 'harbor-down' || f.kind === 'switchover') assert.equal(f.target, 'serving');
    }
    assert.ok(s.windowMs <= WINDOW_MAX_MS && s.windowMs <= 90_000);
    assert.equal(s.windowMs, Math.max(...s.faults.map((f) => f.atMs + f.durationMs)));
    assert.deepEqual(
      s.faults.map((f) => f.atMs),
      [...s.faults.map((f) => f.atMs)].sort((x, y) => x - y),
      'ordered by start',
    );
  }
});

test('across seeds 1..200: overlapping and sequential faults, one role and both roles, every kind', () => {
  assert.ok(schedules.some(overlaps), 'some schedule has faults at the same time');
  assert.ok(schedules.some(hasSequential), 'some schedule has a fault after another ended');
  assert.ok(
    schedules.some((s) => overlaps(s) && sameTarget(s)),
    'some schedule has overlapping faults on one role',
  );
  assert.ok(schedules.some(sameTarget), 'some schedule aims every fault at one role');
  assert.ok(
    schedules.some((s) => sameTarget(s) && s.faults[0]?.target === 'standby'),
    'some schedule aims every fault at the standby',
  );
  assert.ok(
    schedules.some((s) => !sameTarget(s)),
    'some schedule aims at both roles',
  );
  const seen = new Set<FaultKind>(schedules.flatMap((s) => s.faults.map((f) => f.kind)));
  assert.deepEqual([...seen].sort(), [...FAULT_KINDS].sort());
});

test('short Ceph cuts stay under the watch timeout, long ones go past it', () => {
  const cuts = schedules.flatMap((s) => s.faults.filter((f) => f.kind === 'ceph-cut-short' || f.kind === 'ceph-cut-long'));
  assert.ok(cuts.some((f) => f.kind === 'ceph-cut-short') && cuts.some((f) => f.kind === 'ceph-cut-long'));
  for (const f of cuts) {
    if (f.kind === 'ceph-cut-short') assert.ok(f.durationMs < WATCH_TIMEOUT_MS, `short cut of ${f.durationMs} ms`);
    else assert.ok(f.durationMs > WATCH_TIMEOUT_MS && f.durationMs <= 40_000, `long cut of ${f.durationMs} ms`);
  }
});

const pull = (start: number, end: number, ok: boolean) => ({ start, end, ok });
const fault = (kind: FaultKind, startedAt: number, endedAt: number): Pick<FaultRecord, 'kind' | 'target' | 'node' | 'startedAt' | 'endedAt'> => ({
  kind,
  target: 'serving',
  node: 'a',
  startedAt,
  endedAt,
});

test('unavailability per fault: from the first failed pull at or after its start to the end of the next good pull', () => {
  const attempts = [
    pull(0, 100, true),
    pull(300, 400, true),
    // in flight when the crash came (at 450): counted from the crash, not from its own start
    pull(420, 900, false),
    pull(1_100, 1_200, false),
    pull(1_400, 1_500, true),
    pull(1_700, 1_800, true),
    // a second outage, long after the crash and its grace: the switchover's
    pull(30_000, 30_100, false),
    pull(30_300, 30_500, true),
  ];
  const [crash, switchover, cut] = faultUnavailability(attempts, [
    fault('crash', 450, 5_000),
    fault('switchover', 29_900, 29_900),
    fault('ceph-cut-short', 2_000, 3_000),
  ]);
  assert.deepEqual(crash, { kind: 'crash', target: 'serving', node: 'a', ms: 1_500 - 450, failedPulls: 2, open: false });
  assert.deepEqual(switchover, { kind: 'switchover', target: 'serving', node: 'a', ms: 30_500 - 30_000, failedPulls: 1, open: false });
  // nothing failed from its start until its end plus the grace (15 s): the outage at 30 s is not its doing
  assert.deepEqual(cut, { kind: 'ceph-cut-short', target: 'serving', node: 'a', ms: 0, failedPulls: 0, open: false });
});

test('unavailability per fault: overlapping faults share an outage; one still open runs to the last attempt; order of attempts does not matter', () => {
  const attempts = [pull(2_600, 2_700, false), pull(2_000, 2_500, true), pull(2_900, 3_000, false), pull(3_200, 3_600, false)];
  const [first, second] = faultUnavailability(attempts, [fault('pause', 2_550, 10_000), fault('vrrp-cut', 2_950, 4_000)]);
  assert.deepEqual(first, { kind: 'pause', target: 'serving', node: 'a', ms: 3_600 - 2_600, failedPulls: 3, open: true });
  assert.deepEqual(second, { kind: 'vrrp-cut', target: 'serving', node: 'a', ms: 3_600 - 2_950, failedPulls: 2, open: true });
  assert.deepEqual(faultUnavailability([], [fault('crash', 0, 10)]), [{ kind: 'crash', target: 'serving', node: 'a', ms: 0, failedPulls: 0, open: false }]);
  // the grace is a parameter: with none, a failure after the fault's end is not its doing
  assert.equal(faultUnavailability([pull(200, 300, false), pull(400, 500, true)], [fault('crash', 0, 100)], 0)[0]?.ms, 0);
});

test('a role resolves to the node serving now; between two, the VIP decides; with nobody, the last one seen', () => {
  const none = { a: false, b: false };
  assert.equal(resolveServing({ a: 'idle', b: 'active.serving.healthy' }, none, 'a'), 'b');
  // taking over counts as serving for the next fault
  assert.equal(resolveServing({ a: 'fenced', b: 'active.mounting.mapping.running' }, none, 'a'), 'b');
  assert.equal(resolveServing({ a: 'active.serving.healthy', b: 'active.fencing.blocklisting' }, none, 'b'), 'a');
  assert.equal(resolveServing({ a: 'active.serving.healthy', b: 'active.serving.healthy' }, { a: false, b: true }, 'a'), 'b');
  assert.equal(resolveServing({ a: 'releasing.unmounting', b: 'idle' }, { a: true, b: false }, 'b'), 'a');
  assert.equal(resolveServing({ a: null, b: 'idle' }, none, 'a'), 'a');
  assert.equal(resolveServing({ a: null, b: null }, none, 'b'), 'b');
});

test('the summary: totals and per-kind distributions of unavailability', () => {
  const result = (seed: number, passed: boolean, outages: Array<[FaultKind, number]>, extra: Partial<CampaignResult> = {}): CampaignResult => ({
    seed,
    schedule: '',
    passed,
    lost: 0,
    lostRows: 0,
    lateWrites: 0,
    fsck: 0,
    servingAtEnd: 'a',
    fences: 1,
    unavailability: outages.map(([kind, ms]) => ({ kind, target: 'serving', node: 'a', ms, failedPulls: 1, open: false })),
    faults: [],
    pushes: { attempted: 0, acknowledged: 0 },
    rows: { attempted: 0, acknowledged: 0 },
    pulls: { attempts: 0, failed: 0 },
    repairs: [],
    durationMs: 0,
    ...extra,
  });
  const s = summarize([
    result(1, true, [
      ['crash', 4_000],
      ['switchover', 2_000],
    ]),
    result(2, false, [['crash', 9_000]], { lost: 2, fsck: 8, lateWrites: 1 }),
    result(3, false, [['crash', 5_000]], { fsck: null, lost: null, error: 'nobody serves' }),
    result(4, true, [['crash', 7_000]]),
  ]);
  assert.deepEqual(s.totals, { runs: 4, passed: 2, failed: 2, lost: 2, lostRows: 0, lateWrites: 1, fsckFailures: 1, fences: 4 });
  assert.deepEqual(s.unavailabilityByKind, {
    crash: { count: 4, min: 4_000, median: 6_000, max: 9_000 },
    switchover: { count: 1, min: 2_000, median: 2_000, max: 2_000 },
  });
  assert.deepEqual(s.failedSeeds, [2, 3]);
});
