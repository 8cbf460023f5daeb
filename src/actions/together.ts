/**
 * Independent pieces of one step, run at once. When one fails the others are aborted (their
 * commands' process trees killed), and the failure is reported only after every piece has ended:
 * a retry of the step never overlaps what is left of this attempt.
 */
export async function together(signal: AbortSignal | undefined, ...pieces: ReadonlyArray<(signal: AbortSignal) => Promise<unknown>>): Promise<void> {
  const shared = new AbortController();
  const forward = () => shared.abort(signal?.reason);
  if (signal?.aborted) forward();
  signal?.addEventListener('abort', forward, { once: true });
  try {
    const results = await Promise.allSettled(
      pieces.map(async (piece) => {
        try {
          await piece(shared.signal);
        } catch (error) {
          shared.abort(error);
          throw error;
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    signal?.removeEventListener('abort', forward);
  }
}
