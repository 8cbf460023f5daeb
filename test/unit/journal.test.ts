import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Journal, followJournal, formatEntry, parseJournal, tailJournal, type JournalEntry } from '../../src/observe/journal.js';
import { PhaseTracker } from '../../src/observe/phases.js';
import { viewAt } from '../support/views.js';

const dir = mkdtempSync(join(tmpdir(), 'ha-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==';
const command = (i: number, extra = ''): JournalEntry => ({
  kind: 'command',
  at: new Date(1_700_000_000_000 + i).toISOString(),
  what: `step ${i}`,
  command: `rbd status ${extra}`,
  durationMs: i,
  ok: true,
  result: 'exit 0',
});

test('the journal is 0600 JSON lines, rotated by size, keeping only the configured number of files', () => {
  const path = join(dir, 'rot', 'journal.jsonl');
  const j = new Journal(path, { maxBytes: 1_000, keep: 2, secrets: [] });
  for (let i = 0; i < 60; i++) j.append(command(i));
  j.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(dir, 'rot')).sort(), ['journal.jsonl', 'journal.jsonl.1', 'journal.jsonl.2']);
  for (const f of ['journal.jsonl', 'journal.jsonl.1', 'journal.jsonl.2']) {
    assert.ok(statSync(join(dir, 'rot', f)).size <= 1_000, `${f} is over the limit`);
    assert.equal(statSync(join(dir, 'rot', f)).mode & 0o777, 0o600);
  }
  // the newest entries are in the live file, the ones just before in .1, nothing lost in between
  const live = parseJournal(readFileSync(path, 'utf8'));
  const older = parseJournal(readFileSync(`${path}.1`, 'utf8'));
  const oldest = parseJournal(readFileSync(`${path}.2`, 'utf8'));
  const whats = [...oldest, ...older, ...live].map((e) => (e.kind === 'command' ? e.what : ''));
  assert.equal(whats.at(-1), 'step 59');
  const firstKept = Number(whats[0]?.split(' ')[1]);
  assert.deepEqual(
    whats,
    Array.from({ length: 60 - firstKept }, (_, k) => `step ${firstKept + k}`),
  );
  assert.ok(firstKept > 0, 'older files were dropped');
  assert.ok(!existsSync(`${path}.3`));
  assert.deepEqual(
    tailJournal(path, 3).map((e) => (e.kind === 'command' ? e.what : '')),
    ['step 57', 'step 58', 'step 59'],
  );
});

test('a secret never reaches the journal, whatever field carries it', () => {
  const path = join(dir, 'secret', 'journal.jsonl');
  const j = new Journal(path, { maxBytes: 1_000_000, keep: 1, secrets: [KEY] });
  j.append(command(1, `--key ${KEY}`));
  j.append({
    kind: 'transition',
    at: new Date().toISOString(),
    from: 'idle',
    to: 'failed',
    event: 'x',
    inStateMs: 1,
    reason: 'r',
    lastError: `auth failed for ${KEY}`,
  });
  j.close();
  const text = readFileSync(path, 'utf8');
  assert.doesNotMatch(text, /AQBsSHhj/);
  assert.match(text, /--key \*\*\*/);
  assert.equal(parseJournal(text).length, 2);
});

test('following the journal sees new lines across a rotation, and not the old ones', async () => {
  const path = join(dir, 'follow', 'journal.jsonl');
  const j = new Journal(path, { maxBytes: 600, keep: 3, secrets: [] });
  j.append(command(0));
  // lines are written once per macrotask: this one is in the file before following starts
  j.flush();
  const seen: string[] = [];
  const stop = new AbortController();
  const following = followJournal(path, (e) => seen.push(e.kind === 'command' ? e.what : e.kind), stop.signal, 20);
  await new Promise((r) => setTimeout(r, 60));
  for (let i = 1; i <= 12; i++) {
    j.append(command(i));
    await new Promise((r) => setTimeout(r, i % 4 === 0 ? 50 : 1));
  }
  const until = Date.now() + 3_000;
  while (seen.length < 12 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  await following;
  j.close();
  assert.ok(existsSync(`${path}.1`), 'the journal rotated while followed');
  assert.deepEqual(
    seen,
    Array.from({ length: 12 }, (_, k) => `step ${k + 1}`),
  );
});

test('formatEntry makes one readable line per kind', () => {
  assert.match(
    formatEntry({ kind: 'transition', at: 'T', from: 'idle', to: 'active.fencing', event: 'vrrp', inStateMs: 1500, reason: 'r' }),
    /idle → active\.fencing {2}\(vrrp; 1\.50 s in idle\)/,
  );
  assert.match(
    formatEntry({
      kind: 'summary',
      at: 'T',
      operation: 'takeover',
      outcome: 'serving',
      ok: true,
      cause: { event: 'vrrp', reason: 'VRRP MASTER: taking the image' },
      totalMs: 2500,
      phases: [{ phase: 'fencing', durationMs: 600 }],
      steps: [],
    }),
    /takeover done → serving in 2\.50 s: fencing 0\.60 s {2}\(why: VRRP MASTER: taking the image; vrrp\)/,
  );
});

test('the phase tracker sums each takeover and release phase, retries included, and says how it ended', () => {
  const t = new PhaseTracker();
  const view = (name: string) => (name === '(start)' ? { name, top: name, tags: [], phase: null, within: null, step: null } : viewAt(name));
  const feed = (at: number, from: string, to: string, event = 'x', reason = 'r') => t.observe(at, view(from), view(to), { event, reason });
  assert.deepEqual(feed(0, '(start)', 'booting.running'), []);
  assert.deepEqual(feed(100, 'booting.running', 'idle'), []);
  assert.deepEqual(feed(1_000, 'idle', 'active.acquiring-rbd.reading.running', 'vrrp', 'VRRP MASTER: taking the image'), []);
  feed(1_200, 'active.acquiring-rbd.reading.running', 'active.fencing.blocklisting.running');
  feed(1_700, 'active.fencing.blocklisting.running', 'active.fencing.verifying.running');
  feed(1_800, 'active.fencing.verifying.running', 'active.mounting.mapping.running');
  feed(2_000, 'active.mounting.mapping.running', 'active.mounting.mapping.backoff');
  feed(3_000, 'active.mounting.mapping.backoff', 'active.mounting.mapping.running');
  feed(3_300, 'active.mounting.mapping.running', 'active.starting.composing.running');
  const [takeover, ...more] = feed(4_000, 'active.starting.composing.running', 'active.serving.healthy');
  assert.equal(more.length, 0);
  assert.deepEqual(takeover, {
    operation: 'takeover',
    outcome: 'serving',
    ok: true,
    startedAt: 1_000,
    cause: { event: 'vrrp', reason: 'VRRP MASTER: taking the image' },
    totalMs: 3_000,
    phases: [
      { phase: 'acquiring-rbd', durationMs: 200 },
      { phase: 'fencing', durationMs: 600 },
      { phase: 'mounting', durationMs: 1_500 },
      { phase: 'starting', durationMs: 700 },
    ],
    steps: [
      { phase: 'acquiring-rbd.reading', durationMs: 200 },
      { phase: 'fencing.blocklisting', durationMs: 500 },
      { phase: 'fencing.verifying', durationMs: 100 },
      { phase: 'mounting.mapping', durationMs: 1_500 },
      { phase: 'starting.composing', durationMs: 700 },
    ],
  });
  assert.deepEqual(feed(9_000, 'active.serving.healthy', 'active.serving.degraded'), []);
  feed(10_000, 'active.serving.degraded', 'releasing.surveying.running', 'switchover', 'operator switchover');
  feed(10_100, 'releasing.surveying.running', 'releasing.stopping-harbor.running');
  const [release] = feed(12_000, 'releasing.stopping-harbor.running', 'standing-down');
  assert.equal(release?.operation, 'release');
  assert.equal(release.outcome, 'standing-down');
  assert.equal(release.ok, true);
  assert.equal(release.totalMs, 2_000);
  assert.deepEqual(release.cause, { event: 'switchover', reason: 'operator switchover' });
  assert.deepEqual(
    release.phases.map((p) => [p.phase, p.durationMs]),
    [
      ['surveying', 100],
      ['stopping-harbor', 1_900],
    ],
  );

  // a takeover that gives up ends as it hands over to the release, which may fail
  feed(20_000, 'idle', 'active.acquiring-rbd.reading.running');
  const [gaveUp] = feed(20_500, 'active.acquiring-rbd.reading.running', 'releasing.surveying.running');
  assert.deepEqual([gaveUp?.operation, gaveUp?.outcome, gaveUp?.ok, gaveUp?.totalMs], ['takeover', 'releasing', false, 500]);
  const [failed] = feed(21_000, 'releasing.surveying.running', 'failed');
  assert.deepEqual([failed?.operation, failed?.outcome, failed?.ok, failed?.totalMs], ['release', 'failed', false, 500]);
});
