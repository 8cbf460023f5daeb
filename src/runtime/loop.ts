/**
 * Run `tick` every `ms` (never overlapping; a function is asked again before each wait), until
 * stopped. Errors are reported, never thrown. `poke()` runs the next tick now instead of after the
 * wait (or right after the tick in flight): for a caller that knows the answer may have changed.
 */
export function every(
  ms: number | (() => number),
  tick: (signal: AbortSignal) => Promise<void>,
  onError: (e: unknown) => void,
): { stop(): void; poke(): void } {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let poked = false;
  // a call, not the property: TypeScript would keep `aborted` narrowed to false across the await
  const stopped = (): boolean => ac.signal.aborted;
  // the same: poke() sets it while the tick is awaited
  const pokedSince = (): boolean => poked;
  const schedule = (delay: number) => {
    timer = setTimeout(() => void run(), delay);
  };
  const run = async () => {
    timer = null;
    if (stopped()) return;
    running = true;
    poked = false;
    try {
      await tick(ac.signal);
    } catch (e) {
      if (!stopped()) onError(e);
    }
    running = false;
    if (!stopped()) schedule(pokedSince() ? 0 : typeof ms === 'number' ? ms : ms());
  };
  schedule(0);
  return {
    stop() {
      ac.abort();
      if (timer) clearTimeout(timer);
    },
    poke() {
      if (stopped()) return;
      if (running) {
        poked = true;
        return;
      }
      if (timer) clearTimeout(timer);
      schedule(0);
    },
  };
}
