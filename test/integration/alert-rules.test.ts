import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { isRecord } from '../../src/actions/json.js';
import { chartOf } from '../../src/chart/index.js';
import { nodeMachine } from '../../src/machine/index.js';
import { leafStateNames } from '../../src/observe/metrics.js';

// The shipped Prometheus rules, checked by promtool and against the code and the runbook they
// name: a renamed metric or state, or a runbook heading that moved, would otherwise only show
// as an alert that never fires, or links nowhere, in production.
const root = join(import.meta.dirname, '..', '..');
const rulesPath = join(root, 'config', 'prometheus', 'harbor-assistant.rules.yml');
const testsPath = join(root, 'config', 'prometheus', 'harbor-assistant.rules.test.yml');
const runbookBase = 'https://github.com/harbor-assistant/harbor-assistant/blob/main/docs/operations.md#';
const PROMTOOL_TIMEOUT_MS = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'ha-alert-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: PROMTOOL_TIMEOUT_MS });
  if (r.error) {
    const missing = 'code' in r.error && r.error.code === 'ENOENT';
    assert.fail(missing ? 'promtool is not installed: run scripts/install-promtool.sh (as root) first' : `promtool ${args.join(' ')}: ${r.error.message}`);
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface AlertRule {
  alert: string;
  expr: string;
  labels: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

function alertRules(text: string): AlertRule[] {
  const doc: unknown = parse(text);
  assert.ok(isRecord(doc) && Array.isArray(doc.groups), 'a rules file with groups');
  const groups: unknown[] = doc.groups;
  assert.deepEqual(
    groups.map((g) => (isRecord(g) ? g.name : null)),
    ['harbor-assistant'],
    'one group, harbor-assistant',
  );
  const group = groups[0];
  assert.ok(isRecord(group) && Array.isArray(group.rules));
  const rules: unknown[] = group.rules;
  return rules.map((r, i) => {
    assert.ok(isRecord(r) && typeof r.alert === 'string' && typeof r.expr === 'string', `rule ${i} is an alert with an expression`);
    return {
      alert: r.alert,
      expr: r.expr,
      labels: isRecord(r.labels) ? r.labels : {},
      annotations: isRecord(r.annotations) ? r.annotations : {},
    };
  });
}

/** GitHub's anchor for a heading: lower case, punctuation (but - and _) dropped, spaces to '-'. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+)$/.exec(line);
    if (m?.[1] !== undefined) anchors.add(anchorOf(m[1]));
  }
  return anchors;
}

test('promtool check rules accepts the rules file', () => {
  const r = promtool('check', 'rules', rulesPath);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS: 8 rules found/);
});

test('promtool test rules: every alert fires when it should and stays silent in the healthy case next to it', () => {
  const r = promtool('test', 'rules', testsPath);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS/);
});

test('every alert has a severity, a summary, a description and a runbook link to its own heading in docs/operations.md', () => {
  const rules = alertRules(readFileSync(rulesPath, 'utf8'));
  const anchors = markdownAnchors(readFileSync(join(root, 'docs', 'operations.md'), 'utf8'));
  assert.ok(anchors.has('alerts'), 'operations.md has an Alerts section');
  const tests = readFileSync(testsPath, 'utf8');
  for (const r of rules) {
    assert.ok(['critical', 'warning', 'info'].includes(String(r.labels.severity)), `${r.alert}: severity ${String(r.labels.severity)}`);
    for (const key of ['summary', 'description', 'runbook_url']) {
      const v = r.annotations[key];
      assert.ok(typeof v === 'string' && v.trim() !== '', `${r.alert}: annotation ${key}`);
    }
    const url = String(r.annotations.runbook_url);
    assert.ok(url.startsWith(runbookBase), `${r.alert}: ${url}`);
    const anchor = url.slice(runbookBase.length);
    assert.equal(anchor, anchorOf(`Alert: ${r.alert}`), `${r.alert}: its own anchor`);
    assert.ok(anchors.has(anchor), `${r.alert}: docs/operations.md has no heading "### Alert: ${r.alert}" (anchor #${anchor})`);
    assert.ok(tests.includes(`alertname: ${r.alert}\n`), `${r.alert}: tested in harbor-assistant.rules.test.yml`);
  }
});

test('every metric and state the expressions name is one the service exports', () => {
  const source = readFileSync(join(root, 'src', 'observe', 'metrics.ts'), 'utf8');
  const exported = new Set<string>();
  for (const m of source.matchAll(/new (Counter|Gauge|Histogram)\(\{\s*name: '(harbor_assistant_\w+)'/g)) {
    const [, kind, name] = m;
    if (name === undefined) continue;
    exported.add(name);
    if (kind === 'Histogram') for (const suffix of ['_bucket', '_count', '_sum']) exported.add(name + suffix);
  }
  assert.ok(exported.has('harbor_assistant_state') && exported.has('harbor_assistant_operation_duration_seconds_bucket'), 'metrics.ts was read');
  const states = leafStateNames(chartOf(nodeMachine));
  for (const r of alertRules(readFileSync(rulesPath, 'utf8'))) {
    const used = [...r.expr.matchAll(/\bharbor_assistant_\w+/g)].map((m) => m[0]);
    assert.ok(used.length > 0, `${r.alert}: names no metric`);
    for (const name of used) assert.ok(exported.has(name), `${r.alert}: ${name} is not exported by src/observe/metrics.ts`);
    // state matchers name the statechart's leaf states (PromQL strings escape as JSON does;
    // its regular expressions are anchored)
    for (const [, op, quoted] of r.expr.matchAll(/\bstate\s*(=~|=)\s*("(?:[^"\\]|\\.)*")/g)) {
      const value: unknown = JSON.parse(quoted ?? '""');
      assert.ok(typeof value === 'string');
      const matches = op === '=~' ? states.filter((s) => new RegExp(`^(?:${value})$`).test(s)) : states.filter((s) => s === value);
      assert.ok(matches.length > 0, `${r.alert}: state${op ?? ''}"${value}" matches no state of the chart`);
    }
  }
});

test('the promtool tests can fail: a takeover budget moved from 30 s to 60 s is caught', () => {
  const rules = readFileSync(rulesPath, 'utf8');
  const broken = rules.replace('le=~"30(\\\\.0)?"', 'le=~"60(\\\\.0)?"');
  assert.notEqual(broken, rules, 'the threshold was found and changed');
  writeFileSync(join(dir, 'harbor-assistant.rules.yml'), broken);
  writeFileSync(join(dir, 'harbor-assistant.rules.test.yml'), readFileSync(testsPath, 'utf8'));
  assert.equal(promtool('check', 'rules', join(dir, 'harbor-assistant.rules.yml')).status, 0, 'still valid rules');
  const r = promtool('test', 'rules', join(dir, 'harbor-assistant.rules.test.yml'));
  assert.notEqual(r.status, 0, r.output);
  assert.match(r.output, /FAILED/);
  assert.match(r.output, /alertname: HarborAssistantTakeoverSlow/);
  assert.doesNotMatch(r.output, /alertname: HarborAssistant(?!TakeoverSlow)\w+/, 'only the broken alert fails');
});
