import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { Config } from '../config/index.js';
import { createRunner } from '../actions/exec.js';
import { probeHealth, type ComponentHealth } from '../actions/harbor.js';
import type { Logger } from '../log/logger.js';
import { HEALTH_EVENTS } from '../machine/events.js';
import { nodeMachine, type NodeEvent } from '../machine/index.js';
import { detectCompose, detectOwnAddresses } from './detect.js';
import { HealthHysteresis } from './health-prober.js';
import { realActors } from './implementations.js';
import { every } from './loop.js';
import { prepareStateFiles, syncMarkers, writeFileAtomic } from './state-files.js';
import { stateName, statusOf, type NodeSnapshot, type TransitionRecord } from './status.js';
import { createWorld } from './world.js';

type NodeActor = Actor<typeof nodeMachine>;

/** A node that polls the image while standing by, so a takeover knows who held it for how long. */
const HOLDER_POLL_MS = 5_000;

/**
 * The service: builds the world from the configuration, starts the node actor on real actions,
 * feeds it events (VIP reconciliation, Harbor health, image watchers, signals) and publishes
 * status. SIGTERM detaches: whatever is held stays held, the next start reconciles.
 */
export async function runService(config: Config, logger: Logger, options: { onActor?: (actor: NodeActor) => void } = {}): Promise<void> {
  prepareStateFiles(config);
  const runner = createRunner(logger, [config.env.cephKey.reveal()]);
  const f = config.file;
  const composeCommand = f.harbor.composeCommand === 'auto' ? ((await detectCompose(runner, 10_000)) ?? ['docker', 'compose']) : [...f.harbor.composeCommand];
  const ownAddresses = f.node.cephAddresses.length > 0 ? [...f.node.cephAddresses] : await detectOwnAddresses(runner, config.env.monHosts, 10_000);
  const world = createWorld(config, runner, logger, composeCommand);
  logger.info('starting', { node: config.nodeName, role: config.env.role, mapper: f.ceph.mapper, ownAddresses, compose: composeCommand.join(' ') });

  const transitions: TransitionRecord[] = [];
  let since = new Date();
  let current = '';
  let healthComponents: ComponentHealth[] = [];

  const onInspect = (ev: InspectionEvent) => {
    if (ev.type !== '@xstate.microstep' || ev.actorRef !== actor) return;
    const snap = ev.snapshot as NodeSnapshot;
    const to = stateName(snap.value);
    if (to === current) return;
    const record = { at: new Date().toISOString(), from: current || '(start)', to, event: ev.event.type };
    transitions.push(record);
    if (transitions.length > 200) transitions.shift();
    logger.info('transition', { ...record, reason: snap.context.reason, ...(snap.context.lastError ? { lastError: snap.context.lastError } : {}) });
    current = to;
    since = new Date();
  };
  const actor: NodeActor = createActor(nodeMachine.provide({ actors: realActors(config, world) }), {
    input: { timing: config.timing, ownAddresses },
    inspect: onInspect,
  });

  const publish = (snap: NodeSnapshot) => {
    const status = statusOf(snap, { node: config.nodeName, role: config.env.role, since, transitions, healthComponents });
    try {
      writeFileAtomic(config.paths.statusFile, `${JSON.stringify(status, null, 2)}\n`, 0o600);
      const top = status.state.split('.')[0];
      syncMarkers(config, { failed: top === 'failed' ? status.reason : null, maintenance: top === 'maintenance' });
    } catch (e) {
      logger.warn('cannot write status', { error: String(e) });
    }
  };
  actor.subscribe({ next: publish, error: (e) => logger.error('node actor failed', { error: String(e) }) });
  options.onActor?.(actor);
  actor.start();

  const send = (event: NodeEvent) => actor.send(event);
  const onError = (what: string) => (e: unknown) => logger.warn(`${what} failed`, { error: e instanceof Error ? e.message : String(e) });

  // keepalived notifications can be missed (split brain, restarts): the VIP on the interface is the truth
  let vipDisagreement = 0;
  const vipLoop = every(
    f.keepalived.vipPollMs,
    async (signal) => {
      const here = await world.vip.present(signal);
      const believesMaster = actor.getSnapshot().context.vrrp === 'MASTER';
      vipDisagreement = here !== believesMaster ? vipDisagreement + 1 : 0;
      // two polls in a row, so a notification racing the address change is not contradicted
      if (vipDisagreement >= 2) {
        logger.info('VIP reconciliation', { vipHere: here, believedMaster: believesMaster });
        send({ type: 'vrrp', state: here ? 'MASTER' : 'BACKUP' });
        vipDisagreement = 0;
      }
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

  const holdersLoop = every(
    HOLDER_POLL_MS,
    async (signal) => {
      const snap = actor.getSnapshot();
      if (!snap.matches('idle')) return;
      send({ type: 'image.holders', holders: await world.rbd.status(signal), observedAt: Date.now() });
    },
    onError('image watcher poll'),
  );

  const stopped = new Promise<void>((resolve) => {
    actor.subscribe({ complete: () => resolve() });
    const sub = actor.subscribe((s) => {
      if (s.status === 'done') {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  const onSignal = (sig: string) => {
    logger.info('signal: detaching (Harbor and the image stay as they are; the next start reconciles)', { signal: sig });
    send({ type: 'shutdown', release: false });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await stopped;
  vipLoop.stop();
  healthLoop.stop();
  holdersLoop.stop();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  publish(actor.getSnapshot());
  actor.stop();
  await runner.settled();
  logger.info('stopped', { state: stateName(actor.getSnapshot().value) });
}
