/** Run `tick` every `ms` (never overlapping; a function is asked again before each wait), until stopped. Errors are reported, never thrown. */
export function every(ms: number | (() => number), tick: (signal: AbortSignal) => Promise<void>, onError: (e: unknown) => void): { stop(): void } {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  // a call, not the property: TypeScript would keep `aborted` narrowed to false across the await
  const stopped = (): boolean => ac.signal.aborted;
  const run = async () => {
    if (stopped()) return;
    try {
      await tick(ac.signal);
    } catch (e) {
      if (!stopped()) onError(e);
    }
    if (!stopped()) timer = setTimeout(() => void run(), typeof ms === 'number' ? ms : ms());
  };
  timer = setTimeout(() => void run(), 0);
  return {
    stop() {
      ac.abort();
      if (timer) clearTimeout(timer);
    },
  };
}
