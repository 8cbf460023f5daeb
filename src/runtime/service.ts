import { writeFileSync } from 'node:fs';
import { createActor, type Actor } from 'xstate';
import type { Config } from '../config/index.js';
import { createRunner } from '../actions/exec.js';
import { probeHealth, type ComponentHealth } from '../actions/harbor.js';
import { NotifyFifoReader } from '../actions/keepalived-fifo.js';
import { fitnessOf, type Fitness, type StandbyReadiness } from '../guards/fitness.js';
import type { Logger } from '../log/logger.js';
import { HEALTH_EVENTS } from '../machine/events.js';
import { nodeMachine, type NodeActors, type NodeEvent, type OwnershipView } from '../machine/index.js';
import { Observability } from '../observe/observability.js';
import type { ControlResponse } from './control-protocol.js';
import { startControlServer } from './control-server.js';
import { detectCompose, detectOwnAddresses } from './detect.js';
import { HealthHysteresis } from './health-prober.js';
import { realActors, type NodeIdentity } from './implementations.js';
import { startHolderWatch } from './holder-watch.js';
import { every } from './loop.js';
import { prepareStateFiles, readMarkers, syncMarkers, writeFileAtomic } from './state-files.js';
import { stateName, statusOf, watchTransitions, type NodeStatus, type TransitionRecord } from './status.js';
import { composeCommandOf, createWorld } from './world.js';

type NodeActor = Actor<typeof nodeMachine>;

/** A standby polls the image this often: who holds it (for the takeover) and whether Ceph answers (for `check`). */
const STANDBY_POLL_MS = 3_000;

/**
 * The service: builds the world from the configuration, starts the node actor on real actions,
 * feeds it events (keepalived's fifo, VIP reconciliation, Harbor health, the image's watchers,
 * operator commands, signals) and publishes status. XState's mailbox is the one serial event
 * queue: every source only calls `send`. SIGTERM detaches: whatever is held stays held, and the
 * next start reconciles.
 */
export interface ServiceOptions {
  onActor?: (actor: NodeActor) => void;
  /** Replace invoked steps (tests: instant fakes; the benchmark: engine overhead). */
  actors?: Partial<NodeActors>;
  /** Attach the Stately inspector whatever the configuration says (`run --inspect`). */
  inspect?: boolean;
  /** Replace the owner-record read of the pollers (tests with fake steps have no Ceph). */
  ownershipReader?: (signal: AbortSignal) => Promise<OwnershipView>;
}

export async function runService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<void> {
  prepareStateFiles(config);
  const observe = new Observability(config, logger);
  await observe.start({ inspect: options.inspect ?? false });
  const runner = createRunner(logger, [config.env.cephKey.reveal()], observe.command);
  const f = config.file;
  const composeCommand = composeCommandOf(config, f.harbor.composeCommand === 'auto' ? await detectCompose(runner, 10_000) : null);
  const ownAddresses = f.node.cephAddresses.length > 0 ? [...f.node.cephAddresses] : await detectOwnAddresses(runner, config.env.monHosts, 10_000);
  const world = createWorld(config, runner, logger, composeCommand);
  logger.info('starting', { node: config.nodeName, role: config.env.role, mapper: f.ceph.mapper, ownAddresses, compose: composeCommand.join(' ') });
  observe.service('starting', { node: config.nodeName, role: config.env.role, pid: process.pid, ...observe.endpoints });

  const transitions: TransitionRecord[] = [];
  const transitionListeners = new Set<(t: TransitionRecord) => void>();
  let since = new Date();
  let healthComponents: ComponentHealth[] = [];
  let readiness: StandbyReadiness | null = null;

  const onTransition = watchTransitions(
    () => actor,
    (record, snap) => {
      transitions.push(record);
      if (transitions.length > 200) transitions.shift();
      logger.info('transition', { ...record, reason: snap.context.reason, ...(snap.context.lastError ? { lastError: snap.context.lastError } : {}) });
      observe.transition(record, snap.context);
      since = new Date();
      for (const l of transitionListeners) l(record);
    },
  );
  const identity: NodeIdentity = { nodeName: config.nodeName, ownAddresses };
  const readOwnership = options.ownershipReader ?? ((signal: AbortSignal) => world.ownership.read(signal));
  const actor: NodeActor = createActor(nodeMachine.provide({ actors: { ...realActors(config, world, identity), ...options.actors } }), {
    input: { timing: config.timing, nodeName: config.nodeName, ownAddresses, fenceScope: f.fencing.scope },
    inspect: (ev) => {
      onTransition(ev);
      observe.inspect(ev);
    },
  });

  const fitness = (): Fitness => {
    const snap = actor.getSnapshot();
    return fitnessOf(stateName(snap.value), readiness, Date.now(), 3 * STANDBY_POLL_MS + f.ceph.commandTimeoutMs, snap.context.exitTo);
  };
  const status = (): NodeStatus =>
    statusOf(actor.getSnapshot(), { node: config.nodeName, role: config.env.role, since, transitions, healthComponents, fitness: fitness(), endpoints: observe.endpoints, lastOperations: observe.lastOperations(), abandoned: runner.abandoned });
  observe.setStatusSource(status);
  let publishing = true;
  let fitnessWritten: string | null = null;
  const publish = () => {
    if (!publishing) return;
    const s = status();
    observe.status(s);
    // keepalived's track_file: written in place (inotify), only when it changes
    const fitValue = s.fitness.fit ? '0\n' : '1\n';
    if (fitValue !== fitnessWritten) {
      try {
        writeFileSync(f.keepalived.fitnessFile, fitValue, { mode: 0o600 });
        fitnessWritten = fitValue;
      } catch (e) {
        logger.warn('cannot write the fitness file', { error: String(e) });
      }
    }
    try {
      writeFileAtomic(config.paths.statusFile, `${JSON.stringify(s, null, 2)}\n`, 0o600);
      // markers are set here and cleared only by the operator (resume, maintenance off): a stop,
      // a restart or booting must never clear them
      const top = s.state.split('.')[0];
      if (top === 'failed' || top === 'maintenance') {
        const markers = readMarkers(config);
        syncMarkers(config, { failed: top === 'failed' ? s.reason : markers.failed, maintenance: top === 'maintenance' || markers.maintenance });
      }
    } catch (e) {
      logger.warn('cannot write status', { error: String(e) });
    }
  };
  actor.subscribe({ next: publish, error: (e) => logger.error('node actor failed', { error: String(e) }) });
  options.onActor?.(actor);
  actor.start();

  const send = (event: NodeEvent) => actor.send(event);
  const onError = (what: string) => (e: unknown) => logger.warn(`${what} failed`, { error: e instanceof Error ? e.message : String(e) });

  // keepalived talks to us once it runs; until then a VIP on the interface may be a dead keepalived's leftover
  let heardKeepalived = false;
  const fifo = new NotifyFifoReader(f.keepalived.fifoPath, (n, line) => {
    if (n.instance !== f.keepalived.instance) return;
    heardKeepalived = true;
    logger.info('keepalived', { line });
    if (n.kind === 'state') send({ type: 'vrrp', state: n.state, ...(n.priority !== null ? { priority: n.priority } : {}) });
  });
  await fifo.start(runner);

  const server = await startControlServer(config.paths.controlSocket, {
    handle: (request): ControlResponse => {
      const accepted = (what: string): ControlResponse => ({ ok: true, accepted: what, state: stateName(actor.getSnapshot().value) });
      switch (request.cmd) {
        case 'status':
          return { ok: true, status: status() };
        case 'check':
          return { ok: true, fitness: fitness() };
        case 'switchover':
          send({ type: 'switchover' });
          return accepted('switchover');
        case 'maintenance':
          // the marker is part of the world booting reads: clear it before the machine looks again
          if (!request.on) syncMarkers(config, { failed: readMarkers(config).failed, maintenance: false });
          send({ type: request.on ? 'maintenance.on' : 'maintenance.off' });
          return accepted(`maintenance ${request.on ? 'on' : 'off'}`);
        case 'resume':
          syncMarkers(config, { failed: null, maintenance: readMarkers(config).maintenance });
          send({ type: 'resume' });
          return accepted('resume');
        case 'shutdown':
          send({ type: 'shutdown', release: request.release });
          return accepted(request.release ? 'release and stop' : 'stop (detach)');
      }
    },
    onTransition: (listener) => {
      transitionListeners.add(listener);
      return () => transitionListeners.delete(listener);
    },
  });

  // keepalived notifications can be missed (split brain, restarts): the VIP on the interface is the truth
  let vipDisagreement = 0;
  const vipLoop = every(
    f.keepalived.vipPollMs,
    async (signal) => {
      const here = await world.vip.present(signal);
      const snap = actor.getSnapshot();
      const believesMaster = snap.context.vrrp === 'MASTER';
      // a VIP is not ownership: it only promotes a node whose keepalived is known to run, or one already active
      const mayPromote = heardKeepalived || snap.matches('active');
      vipDisagreement = here !== believesMaster && (!here || mayPromote) ? vipDisagreement + 1 : 0;
      // two polls in a row, so a notification racing the address change is not contradicted
      if (vipDisagreement >= 2) {
        logger.info('VIP reconciliation', { vipHere: here, believedMaster: believesMaster });
        send({ type: 'vrrp', state: here ? 'MASTER' : 'BACKUP' });
        vipDisagreement = 0;
      }
      publish();
    },
    onError('VIP poll'),
  );

  const hysteresis = new HealthHysteresis(f.harbor.probe.rise, f.harbor.probe.fall);
  const healthLoop = every(
    f.harbor.probe.intervalMs,
    async (signal) => {
      const snap = actor.getSnapshot();
      if (!snap.matches({ active: 'serving' }) && !snap.matches({ active: { starting: 'waiting-healthy' } })) {
        hysteresis.reset();
        healthComponents = [];
        return;
      }
      const report = await probeHealth(f.harbor.healthUrl, f.harbor.probe.timeoutMs, signal);
      healthComponents = report.components;
      const changed = hysteresis.observe(report);
      if (changed) {
        logger.info('harbor health', { verdict: changed, detail: report.detail });
        send({ type: HEALTH_EVENTS[changed] });
      }
    },
    onError('health probe'),
  );

  const holderWatch = startHolderWatch({
    runner,
    logger,
    nodeName: config.nodeName,
    mountPoint: f.filesystem.mountPoint,
    intervalMs: f.watchdog.intervalMs,
    deadlineMs: f.watchdog.deadlineMs,
    readOwnership,
    holding: () => {
      const snap = actor.getSnapshot();
      return { active: snap.matches('active'), mounted: snap.context.holdings.mounted, generation: snap.context.generation };
    },
    send,
  });

  const standbyLoop = every(
    STANDBY_POLL_MS,
    async (signal) => {
      if (!actor.getSnapshot().matches('idle')) return;
      try {
        const [holders, ownership] = await Promise.all([world.rbd.status(signal), readOwnership(signal)]);
        readiness = { ok: true, checkedAt: Date.now(), error: null };
        send({ type: 'image.holders', holders, ownership, observedAt: Date.now() });
      } catch (e) {
        readiness = { ok: false, checkedAt: Date.now(), error: e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e) };
        throw e;
      }
    },
    onError('standby Ceph check'),
  );

  let detached = false;
  const stopped = new Promise<void>((resolve) => {
    const sub = actor.subscribe((s) => {
      if (s.status === 'done') {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  const onSignal = (sig: string) => {
    logger.info('signal: detaching (Harbor and the image stay as they are; the next start reconciles)', { signal: sig });
    detached = true;
    // the last status stays as it was, marked detached: `check` trusts it for the restart grace
    publishing = false;
    try {
      writeFileAtomic(config.paths.statusFile, `${JSON.stringify({ ...status(), detachedAt: new Date().toISOString() }, null, 2)}\n`, 0o600);
    } catch {
      // best effort
    }
    send({ type: 'shutdown', release: false });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await stopped;
  vipLoop.stop();
  healthLoop.stop();
  standbyLoop.stop();
  holderWatch.stop();
  fifo.stop();
  server.close();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  if (!detached) publish();
  actor.stop();
  await runner.settled();
  const finalState = stateName(actor.getSnapshot().value);
  observe.service(detached ? 'stopped (detached: everything held stays held)' : 'stopped', { state: finalState });
  await observe.close();
  logger.info('stopped', { state: finalState, detached });
}
