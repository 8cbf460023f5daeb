import { createActor } from 'xstate';
import { nodeMachine } from '../src/machine/index.js';
import { instantActors, timing } from './engine.js';

/**
 * What one takeover + release cycle does inside XState: the actions executed, by type, the
 * transitions (events processed) and the actors invoked. The engine's µs follow these counts.
 * `node --import tsx bench/engine-actions.ts`
 */
const settle = () => new Promise<void>((r) => setImmediate(r));
const counts = new Map<string, number>();
let counting = false;
const bump = (k: string) => {
  if (counting) counts.set(k, (counts.get(k) ?? 0) + 1);
};
const actor = createActor(nodeMachine.provide({ actors: instantActors() }), {
  input: { timing: { ...timing, vipLossGraceMs: 1 }, nodeName: 'bench', ownAddresses: ['10.0.0.1'], fenceScope: 'client' },
  inspect: (e) => {
    if (e.type === '@xstate.action') bump(`action ${e.action.type}`);
    else if (e.type === '@xstate.event' && e.actorRef === actor) bump('event (machine)');
    else if (e.type === '@xstate.actor') bump('actor created');
    else if (e.type === '@xstate.snapshot' && e.actorRef === actor) bump('snapshot (machine)');
  },
});
actor.start();
await settle();
for (let i = 0; i < 2; i++) {
  counting = i === 1;
  actor.send({ type: 'vrrp', state: 'MASTER' });
  while (!actor.getSnapshot().matches({ active: { starting: 'waiting-healthy' } })) await settle();
  actor.send({ type: 'health.healthy' });
  actor.send({ type: 'vrrp', state: 'BACKUP' });
  while (!actor.getSnapshot().matches('idle')) await new Promise((r) => setTimeout(r, 2));
}
actor.stop();
console.log(JSON.stringify(Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])), null, 1));
