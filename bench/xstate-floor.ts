import { performance } from 'node:perf_hooks';
import { assign, createActor, fromPromise, setup, type AnyStateMachine } from 'xstate';

/**
 * What XState itself costs for a cycle shaped like ours, with nothing of ours in it: a chain of
 * `steps` invoked promise actors that resolve at once, each state with a timeout (`after`), from
 * `idle` on one event and back. `assigns` adds that many context assigns per cycle, spread over the steps, on a context
 * of `contextKeys` keys (ours: 13 steps, 32 assigns, 21 keys per takeover + release cycle, counted by
 * bench/engine-actions.ts). The engine's 500 µs goal is measured against this floor.
 * `node --expose-gc --import tsx bench/xstate-floor.ts`; BENCH_CYCLES (5,000).
 */
const CYCLES = Number(process.env.BENCH_CYCLES ?? 5_000);

interface FloorContext {
  [key: string]: number;
}

function chainMachine(steps: number, assigns: number, contextKeys: number): AnyStateMachine {
  const context: FloorContext = Object.fromEntries(Array.from({ length: contextKeys }, (_, i) => [`k${String(i)}`, 0]));
  const bump = assign(({ context: c }: { context: FloorContext }) => ({ k0: (c.k0 ?? 0) + 1 }));
  const states: Record<string, object> = {
    idle: { on: { go: 's0' } },
    failed: {},
  };
  for (let i = 0; i < steps; i++) {
    states[`s${String(i)}`] = {
      // the cycle's assigns spread over its steps (32 over 13: 2 or 3 each)
      entry: Array.from({ length: Math.floor(((i + 1) * assigns) / steps) - Math.floor((i * assigns) / steps) }, () => bump),
      invoke: { src: 'step', onDone: i === steps - 1 ? 'idle' : `s${String(i + 1)}`, onError: 'failed' },
      after: { stepTimeout: 'failed' },
    };
  }
  return setup({
    types: {},
    actors: { step: fromPromise(() => Promise.resolve()) },
    delays: { stepTimeout: 60_000 },
  }).createMachine({ id: 'floor', context, initial: 'idle', states });
}

const settle = () => new Promise<void>((r) => setImmediate(r));

async function measure(machine: AnyStateMachine, cycles: number): Promise<{ medianUs: number; cpuPerCycleUs: number }> {
  const actor = createActor(machine);
  actor.start();
  const durations: number[] = [];
  // warm-up: the JIT's first tiers, as the engine bench's first cycles have
  for (let i = 0; i < 200; i++) {
    actor.send({ type: 'go' });
    while (!actor.getSnapshot().matches('idle')) await settle();
  }
  (globalThis as { gc?: () => void }).gc?.();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < cycles; i++) {
    const t = performance.now();
    actor.send({ type: 'go' });
    while (!actor.getSnapshot().matches('idle')) await settle();
    durations.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpuStart);
  actor.stop();
  durations.sort((a, b) => a - b);
  return {
    medianUs: Math.round((durations[Math.floor(durations.length / 2)] ?? 0) * 1000),
    cpuPerCycleUs: Math.round((cpu.user + cpu.system) / cycles),
  };
}

async function main(): Promise<void> {
  const shapes = [
    { name: '13 steps, no assigns', steps: 13, assigns: 0, keys: 21 },
    { name: '13 steps, 32 assigns (ours)', steps: 13, assigns: 32, keys: 21 },
    { name: '6 steps, 15 assigns', steps: 6, assigns: 15, keys: 21 },
  ];
  const out: Array<{ shape: string; medianUs: number; cpuPerCycleUs: number }> = [];
  for (const s of shapes) {
    const figures = await measure(chainMachine(s.steps, s.assigns, s.keys), CYCLES);
    out.push({ shape: s.name, ...figures });
  }
  console.log(
    JSON.stringify({ cycles: CYCLES, node: process.version, flags: process.execArgv.filter((a) => a.startsWith('--') && a !== '--import'), floor: out }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
