import { createActor, type Actor } from 'xstate';
import { createRunner } from '../actions/exec.js';
import { NotifyFifoReader } from '../actions/keepalived/fifo.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { nodeMachine, type NodeActors, type NodeEvent, type NodeMachine, type OwnershipView } from '../machine/index.js';
import { Observability } from '../observe/observability.js';
import { controlHandler } from './control-handler.js';
import { startControlServer } from './control-server.js';
import { detectCompose, detectOwnAddresses } from './detect.js';
import { realActors, type NodeIdentity } from './implementations.js';
import { markerActions } from './markers.js';
import { startPollers } from './pollers.js';
import { HarborLastWords } from './last-words.js';
import { journalStartupLogs } from './startup-logs.js';
import { prepareStateFiles } from './state-files.js';
import { Heartbeat, livenessFiles } from '../actions/keepalived/liveness.js';
import { staysFitWhileRestarting } from '../guards/restart-grace.js';
import { inheritedReadiness, readPreviousStatus, StatusPublisher } from './status-publisher.js';
import { watchTransitions, type TransitionRecord } from './status.js';
import { composeCommandOf, createWorld } from './world.js';
import { VERSION } from '../version.js';

export interface ServiceOptions {
  onActor?: (actor: Actor<NodeMachine>) => void;
  /** Replace invoked steps (tests: instant fakes; the benchmark: engine overhead). */
  actors?: Partial<NodeActors>;
  /** Attach the Stately inspector whatever the configuration says (`run --inspect`). */
  inspect?: boolean;
  /** Replace the owner-record read of the pollers (tests with fake steps have no Ceph). */
  ownershipReader?: (signal: AbortSignal) => Promise<OwnershipView>;
}

/** SIGTERM and SIGINT detach: whatever is held stays held, and the next start reconciles. */
function onStopSignals(handler: (signal: string) => void): () => void {
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

const finished = (actor: Actor<NodeMachine>) =>
  new Promise<void>((resolve) => {
    if (actor.getSnapshot().status === 'done') {
      resolve();
      return;
    }
    const sub = actor.subscribe((s) => {
      if (s.status !== 'done') return;
      sub.unsubscribe();
      resolve();
    });
  });

/**
 * The service: builds the world from the configuration, starts the node actor on real steps and
 * marker actions, feeds it events (keepalived's fifo, pollers, operator commands, signals) and
 * publishes status. XState's mailbox is the one serial event queue: every source only calls `send`.
 */
export async function runService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<void> {
  prepareStateFiles(config);
  const observe = new Observability(config, logger);
  await observe.start({ inspect: options.inspect ?? false });
  const runner = createRunner(logger, [config.env.cephKey.reveal()], observe.command);
  const f = config.file;
  const composeCommand = composeCommandOf(config, f.harbor.composeCommand === 'auto' ? await detectCompose(runner, 10_000) : null);
  const ownAddresses = f.node.cephAddresses.length > 0 ? [...f.node.cephAddresses] : await detectOwnAddresses(runner, config.env.monHosts, 10_000);
  const world = createWorld(config, runner, logger, composeCommand, { observe: observe.command });
  // connected ahead of the first takeover; a failure here is only logged (each call starts it again)
  world.session?.warm(f.ceph.commandTimeoutMs).catch((error: unknown) => logger.warn('ceph session warm-up failed', { error: String(error) }));
  // nothing mounted at start: guard the bare mount point before any container daemon restarts Harbor
  await world.fs.guardBareMountPoint();
  logger.info('starting', {
    version: VERSION,
    runtime: process.version,
    node: config.nodeName,
    role: config.env.role,
    mapper: f.ceph.mapper,
    ownAddresses,
    compose: composeCommand.join(' '),
  });
  observe.service('starting', {
    node: config.nodeName,
    role: config.env.role,
    version: VERSION,
    runtime: process.version,
    pid: process.pid,
    ...observe.endpoints,
  });

  const transitionListeners = new Set<(t: TransitionRecord) => void>();
  const previousStatus = readPreviousStatus(config.paths.statusFile);
  const publisher = new StatusPublisher(
    config,
    logger,
    () => actor,
    observe,
    () => runner.abandoned,
  );
  const onTransition = watchTransitions(
    () => actor,
    (record, snap, views) => {
      publisher.transitioned(record);
      logger.info('transition', { ...record, reason: snap.context.reason, ...(snap.context.lastError ? { lastError: snap.context.lastError } : {}) });
      observe.transition(record, snap.context, views);
      for (const l of transitionListeners) l(record);
    },
  );
  const identity: NodeIdentity = { nodeName: config.nodeName, ownAddresses };
  const lastWords = new HarborLastWords(runner, logger, { maxLines: f.harbor.failureLogLines, timeoutMs: f.harbor.failureLogTimeoutMs }, (c, lines, health) =>
    observe.failureLog(c, lines, health),
  );
  const machine = nodeMachine.provide({
    actors: { ...realActors(config, world, identity, Date.now, lastWords), ...options.actors },
    actions: markerActions(config, logger),
  });
  const actor: Actor<NodeMachine> = createActor(machine, {
    input: { timing: config.timing, nodeName: config.nodeName, ownAddresses, fenceScope: f.fencing.scope },
    inspect: (ev) => {
      onTransition(ev);
      observe.inspect(ev);
    },
  });
  publisher.readiness = inheritedReadiness(previousStatus, Date.now(), f.keepalived.restartGraceMs);
  if (publisher.readiness)
    logger.info('a ready standby restarted: Ceph readiness kept from the previous run until the first poll', {
      detachedAt: new Date(publisher.readiness.checkedAt).toISOString(),
    });
  observe.setStatusSource(() => publisher.status());
  actor.subscribe({ next: publisher.publish, error: (e: unknown) => logger.error('node actor failed', { error: String(e) }) });
  options.onActor?.(actor);
  const stopping = new AbortController();
  journalStartupLogs(
    world.compose,
    observe,
    logger,
    { services: f.harbor.startupLogServices, maxLines: f.harbor.startupLogLines },
    stopping.signal,
    (onLeave) => {
      const watch = actor.subscribe((snap) => {
        if (!snap.hasTag('serving')) onLeave();
      });
      return () => watch.unsubscribe();
    },
  );
  actor.start();
  const send = (event: NodeEvent) => {
    // from now on Ceph calls fail fast instead of each waiting out its timeout, until Ceph answers one
    if (event.type === 'ceph.lost') world.reachability.markLost(event.detail);
    actor.send(event);
  };

  let heardKeepalived = false;
  const fifo = new NotifyFifoReader(f.keepalived.fifoPath, (n, line) => {
    if (n.instance !== f.keepalived.instance) return;
    heardKeepalived = true;
    logger.info('keepalived', { line });
    if (n.kind === 'state') send({ type: 'vrrp', state: n.state, ...(n.priority !== null ? { priority: n.priority } : {}) });
  });
  await fifo.start(runner);

  const server = await startControlServer(config.paths.controlSocket, {
    handle: controlHandler(publisher, send),
    onTransition: (listener) => {
      transitionListeners.add(listener);
      return () => transitionListeners.delete(listener);
    },
  });
  // keepalived's track_script reads this heartbeat: no process start a second to learn we are alive
  const heartbeat = new Heartbeat(livenessFiles(f.keepalived.fitnessFile), (error) => logger.warn('cannot touch the heartbeat file', { error: String(error) }));
  publisher.publish();
  heartbeat.start();
  const readOwnership = options.ownershipReader ?? ((signal: AbortSignal) => world.ownership.read(signal));
  const pollers = startPollers({
    config,
    logger,
    runner,
    world,
    actor,
    publisher,
    send,
    readOwnership,
    heardKeepalived: () => heardKeepalived,
    lastWords,
  });

  // set from the signal handler, read after the actor is done
  const run = { detached: false };
  const stopSignals = onStopSignals((signal) => {
    logger.info('signal: detaching (Harbor and the image stay as they are; the next start reconciles)', { signal });
    run.detached = true;
    const last = publisher.detach();
    if (staysFitWhileRestarting(last.tags, last.fitness.fit)) heartbeat.leaveGrace(Date.now() + f.keepalived.restartGraceMs);
    else heartbeat.stop();
    send({ type: 'shutdown', release: false });
  });

  await finished(actor);
  heartbeat.stop();
  stopping.abort();
  pollers.stop();
  fifo.stop();
  server.close();
  stopSignals();
  world.session?.close();
  if (!run.detached) publisher.publish();
  actor.stop();
  await runner.settled();
  const finalState = publisher.stateName();
  observe.service(run.detached ? 'stopped (detached: everything held stays held)' : 'stopped', { state: finalState });
  await observe.close();
  logger.info('stopped', { state: finalState, detached: run.detached });
}
