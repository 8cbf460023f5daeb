/** Run `tick` every `ms` (never overlapping), until stopped. Errors are reported, never thrown. */
export function every(ms: number, tick: (signal: AbortSignal) => Promise<void>, onError: (e: unknown) => void): { stop(): void } {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  const run = async () => {
    if (ac.signal.aborted) return;
    try {
      await tick(ac.signal);
    } catch (e) {
      if (!ac.signal.aborted) onError(e);
    }
    if (!ac.signal.aborted) timer = setTimeout(() => void run(), ms);
  };
  timer = setTimeout(() => void run(), 0);
  return {
    stop() {
      ac.abort();
      if (timer) clearTimeout(timer);
    },
  };
}
