/**
 * A deadline is a timer, not a wait: the result of `work` if it settles in time, else
 * `timedOut` at the deadline — `work` may go on (a process in uninterruptible I/O survives
 * SIGKILL); its late result or error is dropped.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<{ timedOut: false; value: T } | { timedOut: true }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work.then((value) => ({ timedOut: false as const, value })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
