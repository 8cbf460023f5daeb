/**
 * What an operator does about a failure, the way resource agents sort theirs (OCF: not
 * installed, not configured, generic): only a transient one is worth retrying.
 *   not-installed  a program, package or kernel module this host lacks: install it
 *   misconfigured  the configuration or the credentials are refused, or name what does not exist
 *   transient      anything else (a timeout, a busy lock, a peer mid-takeover): retried
 */
export const FAILURE_CLASSES = ['not-installed', 'misconfigured', 'transient'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** A failure retrying cannot help: the node stops and says what to do. */
export const needsOperator = (c: FailureClass): boolean => c !== 'transient';

/** The class of a step's error, read structurally (`failureClass` on the error); transient unless it says otherwise. */
export function failureClassOf(error: unknown): FailureClass {
  if (typeof error !== 'object' || error === null || !('failureClass' in error)) return 'transient';
  const c = error.failureClass;
  return (FAILURE_CLASSES as readonly unknown[]).includes(c) ? (c as FailureClass) : 'transient';
}

/** The fix a step's error carries for the operator (`hint`), if any. */
export function fixOf(error: unknown): string | null {
  if (typeof error !== 'object' || error === null || !('hint' in error)) return null;
  return typeof error.hint === 'string' ? error.hint : null;
}
