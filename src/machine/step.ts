import type { DoneActorEvent, OutputFrom } from 'xstate';
import type { NodeActors } from './actors.js';
import type { NodeContext } from './context.js';
import type { NodeTag } from '../domain/tags.js';
import type { StepName } from './timing.js';
import type { ReleaseExit } from '../domain/types.js';

/** A step is an invoked actor with a timeout; its one name is the actor, the invoke id, the timeout setting. */
export type Step = StepName & keyof NodeActors;

/** The delay that gives up on a step: generated from the step's name, never written by hand. */
export type TimeoutDelay<S extends StepName = StepName> = `${S}Timeout`;
export const timeoutDelay = <S extends StepName>(step: S): TimeoutDelay<S> => `${step}Timeout`;

/** What the chart module (and any reader) learns about a step state from its `meta`. */
export interface StepMeta {
  step: Step;
  /** The step retries after `retryBackoff` while attempts are left. */
  retries: true;
}

export const retry = (step: StepName) => ({ guard: 'canRetry', target: 'backoff', actions: { type: 'recordStepFailure', params: { step } } }) as const;

/** How a step that ran out of attempts (or time) ends, by the kind of step. */
export const giveUp = {
  /** A takeover step: counted against the failure budget, then released. */
  takeover: (step: StepName) =>
    [
      retry(step),
      // not installed or misconfigured: released, then failed with the fix (retrying cannot help)
      { guard: 'failureNeedsOperator', target: '#node.releasing', actions: [{ type: 'recordStepFailure', params: { step } }, 'stopForOperator'] },
      {
        target: '#node.releasing',
        actions: [
          { type: 'recordStepFailure', params: { step } },
          { type: 'abandonTakeover', params: { why: `${step} failed`, withError: true } },
        ],
      },
    ] as const,
  /** A release step: S4, never map again without an operator. */
  release: (step: StepName) =>
    [
      { ...retry(step), actions: [retry(step).actions, 'markReleaseStalled'] },
      { target: '#node.failed', actions: [{ type: 'recordStepFailure', params: { step } }, 'markReleaseFailed'] },
    ] as const,
  /** Reading the world at start-up: nothing is known, so nothing may be touched. */
  boot: (step: StepName) => [retry(step), { target: '#node.failed', actions: [{ type: 'recordStepFailure', params: { step } }, 'markBootFailed'] }] as const,
  /** Best effort: failing costs nothing but a note, the flow goes on to `target`. */
  bestEffort: <const T extends string>(step: StepName, target: T) =>
    [retry(step), { target, actions: { type: 'recordStepFailure', params: { step } } }] as const,
};

/** `onFail` without the branches that read the error (a timeout event carries none). */
function onTimeout<Fail>(onFail: Fail): Fail {
  return (Array.isArray(onFail) ? onFail.filter((t: { guard?: unknown }) => t.guard !== 'failureNeedsOperator') : onFail) as Fail;
}

export interface StepSpec<Input, Done, Fail> {
  description: string;
  /** The actor's input, computed from the context (or a constant). */
  input: Input;
  onDone: Done;
  /** Taken on the actor's error and on the step's timeout alike. */
  onFail: Fail;
  tags?: readonly NodeTag[];
  /** False when the step is re-entered within one attempt budget (a poll that settles and looks again). */
  resetsAttempts?: boolean;
  /** An action run on entry, after the attempts are reset (once per step, not per attempt). */
  entry?: 'beginClaim';
}

/**
 * The one shape of an invoked step:
 *   running — the invoke, plus its timeout `<step>Timeout`; error and timeout both go to `onFail`
 *   backoff — waits `retryBackoff`, then runs again (`onFail` starts with `retry(step)`)
 */
export function step<const S extends Step, const Input, const Done, const Fail>(name: S, spec: StepSpec<Input, Done, Fail>) {
  const meta: StepMeta = { step: name, retries: true };
  return {
    description: spec.description,
    tags: spec.tags ?? [],
    meta,
    initial: 'running',
    entry: [...(spec.resetsAttempts === false ? [] : (['resetAttempts'] as const)), ...(spec.entry === undefined ? [] : [spec.entry])],
    states: {
      running: {
        invoke: { id: name, src: name, input: spec.input, onDone: spec.onDone, onError: spec.onFail },
        // a timeout is never the operator's kind of failure: the error-only branch is left out
        after: { [timeoutDelay(name)]: onTimeout(spec.onFail) } as Record<TimeoutDelay<S>, Fail>,
      },
      backoff: { after: { retryBackoff: 'running' } },
    },
  } as const;
}

/** The output of a step, as its done transitions see it. */
type DoneOf<S extends Step> = { event: DoneActorEvent<OutputFrom<NodeActors[S]>> };
type ContextOnly = { context: NodeContext };

/** Guard and action parameters taken from a step's output. */
export const output = {
  world: ({ event }: DoneOf<'readWorld'>) => ({ world: event.output }),
  observation: ({ event }: DoneOf<'readHolders'>) => ({ observation: event.output }),
  verified: ({ event }: DoneOf<'verifyFence'>) => ({ observation: event.output }),
  fenced: ({ event }: DoneOf<'fence'>) => ({ fenced: event.output.fenced }),
  claim: ({ event }: DoneOf<'claim'>) => ({ claim: event.output }),
  device: ({ event }: DoneOf<'map'>) => ({ device: event.output.device }),
  probe: ({ event }: DoneOf<'probeFilesystem'>) => ({ probe: event.output }),
};

/** Step inputs computed from the context. */
export const from = {
  nothing: {} as Record<string, never>,
  device: ({ context }: ContextOnly) => ({ device: context.holdings.device ?? '' }),
  /** A release's survey: Harbor this run started is known to run (saves `compose ps`, a second or two). */
  survey: ({ context }: ContextOnly) => ({ composeKnownRunning: context.holdings.composeRunning, heldOnly: true }),
};

/** `releasing` leaves for `exit`; `reason` is what status and the journal say. */
export const releaseFor = (exit: ReleaseExit, reason: string) => ({ type: 'beginRelease', params: { exit, reason } }) as const;

/** A node that was fenced or lost Ceph treats its own client as dead (no flush, no disown). */
export const releasingAsDead = (context: NodeContext): boolean => context.deadPath !== null;
