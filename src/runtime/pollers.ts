import type { Actor } from 'xstate';
import type { Runner } from '../actions/exec.js';
import { probeHealth } from '../actions/harbor/compose.js';
import { keepalivedVrrpRunning } from '../actions/keepalived/process.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { HEALTH_EVENTS } from '../machine/events.js';
import type { NodeEvent, NodeMachine, OwnershipView } from '../machine/index.js';
import { HealthHysteresis } from './health-prober.js';
import type { HarborLastWords } from './last-words.js';
import { startHolderWatch } from './holder-watch.js';
import { every } from './loop.js';
import { STANDBY_POLL_MS, type StatusPublisher } from './status-publisher.js';
import type { World } from './world.js';

export interface PollerDeps {
  config: Config;
  logger: Logger;
  runner: Runner;
  world: World;
  actor: Actor<NodeMachine>;
  publisher: StatusPublisher;
  send: (event: NodeEvent) => void;
  readOwnership: (signal: AbortSignal) => Promise<OwnershipView>;
  /** keepalived has spoken to this run (until then a VIP on the interface may be a dead keepalived's leftover). */
  heardKeepalived: () => boolean;
  /** Told what Harbor last said when probing ends, so a release can journal why it failed. */
  lastWords?: HarborLastWords;
}

/**
 * Everything the service polls turns into events: the VIP on the interface, Harbor's health, the
 * image's watchers and owner record, the I/O watchdog. Each runs only in the states whose tags
 * ask for it; the machine decides what the events mean.
 */
export function startPollers(d: PollerDeps): { stop(): void } {
  const f = d.config.file;
  const onError = (what: string) => (e: unknown) => d.logger.warn(`${what} failed`, { error: e instanceof Error ? e.message : String(e) });
  const snapshot = () => d.actor.getSnapshot();

  // keepalived notifications can be missed (split brain, restarts): the VIP on the interface is the truth
  let vipDisagreement = 0;
  const vip = every(
    f.keepalived.vipPollMs,
    async () => {
      const here = await d.world.vip.present();
      const snap = snapshot();
      const believesMaster = snap.context.vrrp === 'MASTER';
      // a VIP is not ownership: it only promotes a node whose keepalived is known to run (it spoke to
      // this run, or its VRRP process is alive: a restarted engine is told nothing again), or one acting as master
      const mayPromote = d.heardKeepalived() || snap.hasTag('acting-master') || keepalivedVrrpRunning(f.keepalived.pidDir, f.keepalived.confPath);
      vipDisagreement = here !== believesMaster && (!here || mayPromote) ? vipDisagreement + 1 : 0;
      // two polls in a row, so a notification racing the address change is not contradicted
      if (vipDisagreement >= 2) {
        d.logger.info('VIP reconciliation', { vipHere: here, believedMaster: believesMaster });
        d.send({ type: 'vrrp', state: here ? 'MASTER' : 'BACKUP' });
        vipDisagreement = 0;
      }
      d.publisher.publish();
    },
    onError('VIP poll'),
  );

  const hysteresis = new HealthHysteresis(f.harbor.probe.rise, f.harbor.probe.fall);
  // while a takeover waits for Harbor, every probe interval is added to the takeover's time
  const healthInterval = () => (snapshot().hasTag('takeover') ? f.harbor.probe.startingIntervalMs : f.harbor.probe.intervalMs);
  const health = every(
    healthInterval,
    async (signal) => {
      if (!snapshot().hasTag('probes-health')) {
        hysteresis.reset();
        d.publisher.healthComponents = [];
        return;
      }
      const report = await probeHealth(f.harbor.healthUrl, f.harbor.probe.timeoutMs, signal);
      d.publisher.healthComponents = report.components;
      // while compose up still starts Harbor, a refusal before its first answer is expected, not a verdict
      if (report.verdict === 'down' && hysteresis.current === 'unknown' && snapshot().hasTag('harbor-starting')) return;
      // a takeover asks "has Harbor come up", not "is it flapping": its first healthy answer will do
      const changed = hysteresis.observe(report, snapshot().hasTag('takeover') ? 1 : f.harbor.probe.rise);
      if (changed) {
        d.logger.info('harbor health', { verdict: changed, detail: report.detail });
        d.send({ type: HEALTH_EVENTS[changed] });
        // Harbor down may be its storage gone: the watchdog looks now, so a hand-over on a dead
        // path turns into a dead release (unfit at once) without waiting for its next tick
        if (changed === 'down') watchdog.checkNow();
      }
    },
    onError('health probe'),
  );
  // probing starts (compose up is starting Harbor): from a clean slate, at once; compose up has
  // returned without an answer yet: probe now rather than up to an interval later; probing ends:
  // the verdict is kept before the next tick resets it (a release reads it before compose down)
  let probingHealth = snapshot().hasTag('probes-health');
  let harborStarting = snapshot().hasTag('harbor-starting');
  const healthStart = d.actor.subscribe((snap) => {
    const probes = snap.hasTag('probes-health');
    const starting = snap.hasTag('harbor-starting');
    if (probes && !probingHealth) {
      hysteresis.reset();
      d.lastWords?.forget();
      health.poke();
    } else if (probes && harborStarting && !starting) health.poke();
    if (!probes && probingHealth) d.lastWords?.leftProbing(hysteresis.current, hysteresis.last);
    probingHealth = probes;
    harborStarting = starting;
  });

  const watchdog = startHolderWatch({
    runner: d.runner,
    logger: d.logger,
    nodeName: d.config.nodeName,
    mountPoint: f.filesystem.mountPoint,
    intervalMs: f.watchdog.intervalMs,
    deadlineMs: f.watchdog.deadlineMs,
    readOwnership: d.readOwnership,
    holding: () => {
      const snap = snapshot();
      const writes = snap.hasTag('watchdog');
      return { active: writes || snap.hasTag('ceph-watch'), writes, mounted: snap.context.holdings.mounted, generation: snap.context.generation };
    },
    send: d.send,
  });

  // a step that fails after the claim (a mkfs on a client fenced meanwhile) may mean another node
  // took the image: the record says so within one Ceph read instead of the next interval
  let lastError = snapshot().context.lastError;
  const stepFailed = d.actor.subscribe((snap) => {
    const error = snap.context.lastError;
    if (error !== null && error !== lastError && snap.context.generation !== null) watchdog.checkRecordNow();
    lastError = error;
  });

  const standby = every(
    STANDBY_POLL_MS,
    async (signal) => {
      if (!snapshot().hasTag('standby-poll')) return;
      try {
        const [holders, ownership] = await Promise.all([d.world.rbd.status(signal), d.readOwnership(signal)]);
        d.publisher.readiness = { ok: true, checkedAt: Date.now(), error: null };
        d.send({ type: 'image.holders', holders, ownership, observedAt: Date.now() });
      } catch (e) {
        d.publisher.readiness = { ok: false, checkedAt: Date.now(), error: e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e) };
        throw e;
      }
    },
    onError('standby Ceph check'),
  );

  // a node that starts (or comes back) as a standby asks Ceph at once instead of a poll interval later:
  // until then its fitness rests on nothing of this run
  let wasStandby = false;
  const standbyStart = d.actor.subscribe((snap) => {
    const polls = snap.hasTag('standby-poll');
    if (polls && !wasStandby) standby.poke();
    wasStandby = polls;
  });

  return {
    stop() {
      standbyStart.unsubscribe();
      vip.stop();
      healthStart.unsubscribe();
      health.stop();
      standby.stop();
      stepFailed.unsubscribe();
      watchdog.stop();
    },
  };
}
