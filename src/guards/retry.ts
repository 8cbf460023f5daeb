/** One more attempt of the current step is allowed (attempts counts the failures so far). */
export function hasAttemptsLeft(failedAttempts: number, maxAttempts: number): boolean {
  return failedAttempts + 1 < maxAttempts;
}

/**
 * A step's error that no retry can fix: the runner marks a missing program or kernel module so
 * (CommandError.permanent). Read structurally: the chart knows no action modules.
 */
export function isPermanentFailure(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || !('error' in event)) return false;
  const error: unknown = event.error;
  return typeof error === 'object' && error !== null && 'permanent' in error && error.permanent === true;
}

/** The hint a step's error carries for the operator, if any. */
export function hintOf(error: unknown): string | null {
  if (typeof error !== 'object' || error === null || !('hint' in error)) return null;
  return typeof error.hint === 'string' ? error.hint : null;
}

/** This failure would use up the failure budget: the node must stop trying and ask for an operator. */
export function exhaustsBudget(failuresSoFar: number, budget: number): boolean {
  return failuresSoFar + 1 >= budget;
}
