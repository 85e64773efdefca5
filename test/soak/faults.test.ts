import { faultPlan, quietStarts } from './faults.js';

describe('the soak fault schedule', () => {
  const processes = ['gatehouse-a', 'gatehouse-b'];

  it('puts every kind of fault into a one-minute run, each over before the traffic ends', () => {
    const plan = faultPlan(60_000, processes);
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(['receiver-slow', 'receiver-down', 'receiver-5xx', 'process-kill', 'database-cut']));
    for (const fault of plan) expect(fault.atMs + fault.forMs).toBeLessThan(60_000);
    // The outages come early, so that what a killed process held (its 60 s lease) is delivered within the run.
    expect(plan.filter((f) => f.kind === 'process-kill' || f.kind === 'database-cut').every((f) => f.atMs <= 0.35 * 60_000)).toBe(true);
  });

  it('repeats the cycle every two minutes, killing each process in turn, with receiver faults of at most 20 s', () => {
    const plan = faultPlan(300_000, processes);
    expect(plan).toHaveLength(12);
    expect(plan.filter((f) => f.kind === 'process-kill').map((f) => f.target)).toEqual(['gatehouse-b', 'gatehouse-a']);
    expect(Math.max(...plan.filter((f) => f.kind.startsWith('receiver-')).map((f) => f.forMs))).toBe(20_000);
  });

  it('starts the steady session of each cycle after its outages', () => {
    expect(quietStarts(60_000)).toEqual([30_000]);
    expect(quietStarts(300_000)).toEqual([75_000, 225_000]);
  });
});
