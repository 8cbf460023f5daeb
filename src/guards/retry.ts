/** One more attempt of the current step is allowed (attempts counts the failures so far). */
export function hasAttemptsLeft(failedAttempts: number, maxAttempts: number): boolean {
  return failedAttempts + 1 < maxAttempts;
}

/** This failure would use up the failure budget: the node must stop trying and ask for an operator. */
export function exhaustsBudget(failuresSoFar: number, budget: number): boolean {
  return failuresSoFar + 1 >= budget;
}
