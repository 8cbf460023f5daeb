import { failureClassOf, needsOperator, type FailureClass } from '../domain/failure.js';

/** One more attempt of the current step is allowed (attempts counts the failures so far). */
export function hasAttemptsLeft(failedAttempts: number, maxAttempts: number): boolean {
  return failedAttempts + 1 < maxAttempts;
}

/** The failure class of a step's error event (a timeout or anything unsorted: transient). */
export function failureClassOfEvent(event: unknown): FailureClass {
  return typeof event === 'object' && event !== null && 'error' in event ? failureClassOf(event.error) : 'transient';
}

/** A step's error that no retry can fix: a program or module missing, the configuration refused. */
export function isPermanentFailure(event: unknown): boolean {
  return needsOperator(failureClassOfEvent(event));
}

/** This failure would use up the failure budget: the node must stop trying and ask for an operator. */
export function exhaustsBudget(failuresSoFar: number, budget: number): boolean {
  return failuresSoFar + 1 >= budget;
}
