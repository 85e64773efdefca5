import type { LogoutReceiver } from '../support/logout-receiver.js';
import type { FaultKind, FaultWindow } from './checker.js';
import type { GatehouseCluster } from './cluster.js';
import type { CuttableTcpProxy } from './tcp-proxy.js';

/** One fault of the schedule: when it starts (ms after the traffic started) and how long it lasts. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly target: string;
  readonly atMs: number;
  readonly forMs: number;
}

const CYCLE_MS = 120_000;

/**
 * The faults, one cycle per two minutes of traffic (a shorter run gets one cycle squeezed into it): receivers that are
 * slow (answer after the delivery timeout), down (connection refused, back up later), answering 503; a kill -9 of one
 * Gatehouse process with its restart; the database cut for a few seconds. Early in each cycle, so that what they
 * leave behind (a dead process's claims, which wait for their lease to run out) is delivered within the run.
 */
export function faultPlan(trafficMs: number, processes: readonly string[]): PlannedFault[] {
  const cycles = Math.max(1, Math.floor(trafficMs / CYCLE_MS));
  const cycle = trafficMs / cycles;
  const receiverFault = Math.min(0.14 * cycle, 20_000);
  const plan: PlannedFault[] = [];
  for (let i = 0; i < cycles; i += 1) {
    const at = (fraction: number) => Math.round(i * cycle + fraction * cycle);
    plan.push(
      { kind: 'receiver-slow', target: 'notes', atMs: at(0.05), forMs: receiverFault },
      { kind: 'process-kill', target: processes[(i + 1) % processes.length]!, atMs: at(0.15), forMs: 3000 },
      { kind: 'receiver-down', target: 'calendar', atMs: at(0.2), forMs: receiverFault },
      { kind: 'database-cut', target: '*', atMs: at(0.35), forMs: 4000 },
      { kind: 'receiver-5xx', target: 'mail', atMs: at(0.45), forMs: receiverFault },
      { kind: 'receiver-slow', target: 'notes', atMs: at(0.6), forMs: receiverFault },
    );
  }
  return plan;
}

/** When, in each cycle, a session may start that should live on undisturbed for a while (no outage follows soon). */
export function quietStarts(trafficMs: number): number[] {
  const cycles = Math.max(1, Math.floor(trafficMs / CYCLE_MS));
  const cycle = trafficMs / cycles;
  return Array.from({ length: cycles }, (_, i) => Math.round((i + 0.5) * cycle));
}

export interface FaultTargets {
  readonly receivers: ReadonlyMap<string, LogoutReceiver>;
  /** How long a slow receiver takes to answer: longer than the delivery timeout. */
  readonly slowAnswerMs: number;
  readonly cluster: GatehouseCluster;
  readonly database: CuttableTcpProxy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function receiverOf(targets: FaultTargets, name: string): LogoutReceiver {
  const receiver = targets.receivers.get(name);
  if (!receiver) throw new Error(`no receiver ${name}`);
  return receiver;
}

/** Starts a fault; resolves with the function that ends it. */
async function begin(fault: PlannedFault, targets: FaultTargets): Promise<() => Promise<void>> {
  switch (fault.kind) {
    case 'receiver-slow': {
      const receiver = receiverOf(targets, fault.target);
      receiver.gate = async () => void (await sleep(targets.slowAnswerMs));
      return async () => void (receiver.gate = undefined);
    }
    case 'receiver-down': {
      const receiver = receiverOf(targets, fault.target);
      await receiver.down();
      return async () => void (await receiver.up());
    }
    case 'receiver-5xx': {
      const receiver = receiverOf(targets, fault.target);
      receiver.defaultAnswer = 503;
      return async () => void (receiver.defaultAnswer = 200);
    }
    case 'process-kill':
      await targets.cluster.killHard(fault.target);
      // The window lasts until the new process listens (restart() resolves then).
      return () => targets.cluster.restart(fault.target);
    case 'database-cut':
      targets.database.cutAll();
      return async () => targets.database.restore();
  }
}

/** Runs the plan from `startedAt`; records each fault's real window. Every fault is ended before it resolves. */
export async function runFaults(plan: readonly PlannedFault[], targets: FaultTargets, startedAt: number, windows: FaultWindow[]): Promise<void> {
  await Promise.all(plan.map(async (fault) => {
    await sleep(startedAt + fault.atMs - Date.now());
    const start = Date.now();
    const end = await begin(fault, targets);
    await sleep(start + fault.forMs - Date.now());
    await end();
    windows.push({ kind: fault.kind, target: fault.target, start, end: Date.now() });
  }));
}
