import { rootState, type RootName } from './explorer.js';
import { stateViolation } from './invariants.js';
import { Model, type ModelOptions, type State } from './model.js';
import { flatState } from './node.js';
import { isBlocklisted, NODES, type NodeId, type World } from './world.js';

/*
 * A counterexample is the list of step labels from the initial state. Replaying it re-derives
 * every state with the same model (each label names exactly one successor), so a printed
 * counterexample can be pasted into a test as it is.
 */

export interface Replayed {
  states: State[];
  /** Every invariant the replay breaks (step or state), with the step number (1-based). */
  violations: Array<{ step: number; message: string }>;
  /** The one broken by the last step (what the counterexample was printed for), or null. */
  violation: { step: number; message: string } | null;
}

/** Labels start with the root (`start:cold` or `start:steady`), then one label per step. */
export function replay(o: ModelOptions, path: readonly string[]): Replayed {
  const model = new Model(o);
  const [first, ...labels] = path;
  const root = (first ?? 'start:cold').replace(/^start:/, '') as RootName;
  let s = rootState(model, root);
  const states = [s];
  const violations: Array<{ step: number; message: string }> = [];
  for (const [i, label] of labels.entries()) {
    const steps = model.successors(s);
    const step = steps.find((x) => x.label === label);
    if (!step) throw new Error(`replay: step ${i + 1} "${label}" is not possible here; possible: ${steps.map((x) => x.label).join(' | ')}`);
    s = step.next;
    states.push(s);
    const bad = step.violation ?? stateViolation(s.world);
    if (bad !== null) violations.push({ step: i + 1, message: bad });
  }
  const last = violations.at(-1);
  return { states, violations, violation: last?.step === labels.length ? last : null };
}

function nodeLine(s: State, n: NodeId): string {
  const e = s.engines[n];
  const h = s.world.hosts[n];
  const engine = e === null ? 'engine down' : `${flatState(e.snap)} (vrrp ${e.snap.context.vrrp})`;
  const host = [
    h.paused ? 'PAUSED' : '',
    h.cut ? 'cut from Ceph' : '',
    h.keepalived ? `keepalived ${h.vrrp}` : 'keepalived down',
    h.vip ? 'VIP' : '',
    h.client ? `client ${h.client.addr}${isBlocklisted(s.world, h.client.addr) ? ' BLOCKLISTED' : ''}` : '',
    h.mounted ? 'mounted' : '',
    h.harbor ? 'Harbor up' : '',
  ].filter((x) => x !== '');
  return `${n}: ${engine}; ${host.join(', ')}`;
}

function imageLine(w: World): string {
  const i = w.image;
  return [
    `record ${i.record ? `${i.record.node}/${i.record.generation} ${JSON.stringify(i.record.clients)}` : '-'}`,
    `lock ${i.lock?.id ?? '-'}`,
    `watchers ${JSON.stringify(i.watchers.map((x) => x.addr + (x.expiresIn === null ? '' : ` (expires in ${x.expiresIn} ms)`)))}`,
    `blocklist ${JSON.stringify(i.blocklist)}`,
    w.vrrpLink ? '' : 'VRRP link cut',
  ]
    .filter((x) => x !== '')
    .join(', ');
}

/** The counterexample as an operator reads it: numbered steps, both nodes and the image after each. */
export function formatCounterexample(o: ModelOptions, path: readonly string[], message: string): string {
  const { states } = replay(o, path);
  const [root, ...labels] = path;
  const lines = [
    `counterexample (${labels.length} steps from ${root === 'start:steady' ? 'the steady state: a serves, b stands by' : 'a cold start of both nodes'}): ${message}`,
  ];
  const show = (s: State) => {
    for (const n of NODES) lines.push(`      ${nodeLine(s, n)}`);
    lines.push(`      image: ${imageLine(s.world)}`);
  };
  lines.push(`  0. ${root ?? 'start:cold'}`);
  const first = states[0];
  if (first) show(first);
  labels.forEach((label, i) => {
    lines.push(`  ${i + 1}. ${label}`);
    const s = states[i + 1];
    if (s) show(s);
  });
  return lines.join('\n');
}
