import type { NodeEvent } from '../machine/index.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';
import type { StatusPublisher } from './status-publisher.js';

/**
 * Operator commands from the control socket become machine events; the machine decides what
 * they mean in the current state (and writes or clears the marker files itself).
 */
export function controlHandler(publisher: StatusPublisher, send: (event: NodeEvent) => void) {
  const accepted = (what: string): ControlResponse => ({ ok: true, accepted: what, state: publisher.stateName() });
  return (request: Exclude<ControlRequest, { cmd: 'events' }>): ControlResponse => {
    switch (request.cmd) {
      case 'status':
        return { ok: true, status: publisher.status() };
      case 'check':
        return { ok: true, fitness: publisher.fitness() };
      case 'switchover':
        send({ type: 'switchover' });
        return accepted('switchover');
      case 'maintenance':
        send({ type: request.on ? 'maintenance.on' : 'maintenance.off' });
        return accepted(`maintenance ${request.on ? 'on' : 'off'}`);
      case 'resume':
        send({ type: 'resume' });
        return accepted('resume');
      case 'shutdown':
        send({ type: 'shutdown', release: request.release });
        return accepted(request.release ? 'release and stop' : 'stop (detach)');
    }
  };
}
