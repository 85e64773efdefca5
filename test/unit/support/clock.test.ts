import { TestClock, TestTimers } from '../../support/clock.js';

// The worker's tests run its poll and its timeouts on these timers: they must fire as real ones would, in order, at
// their own time on the clock, and let what they set off run before the next one fires.
describe('TestTimers', () => {
  it('fires due timers in time order (then in the order they were set), each with the clock at its time, and none early', async () => {
    const clock = new TestClock(0);
    const timers = new TestTimers(clock);
    const fired: string[] = [];
    timers.after(30, () => fired.push(`b@${clock.now().getTime()}`));
    timers.after(10, () => fired.push(`a@${clock.now().getTime()}`));
    timers.after(30, () => fired.push(`c@${clock.now().getTime()}`));
    await timers.advance(29);
    expect(fired).toEqual(['a@10']);
    await timers.advance(1);
    expect(fired).toEqual(['a@10', 'b@30', 'c@30']);
    expect([clock.now().getTime(), timers.count]).toEqual([30, 0]);
  });

  it('repeats every interval until cancelled, and a cancelled one-off never fires', async () => {
    const timers = new TestTimers(new TestClock(0));
    const ticks: number[] = [];
    const stop = timers.every(100, () => ticks.push(timers.clock.now().getTime()));
    const cancel = timers.after(150, () => ticks.push(-1));
    cancel();
    await timers.advance(350);
    stop();
    await timers.advance(1000);
    expect(ticks).toEqual([100, 200, 300]);
    expect(timers.nextAt).toBeUndefined();
    expect(() => timers.every(0, () => {})).toThrow(/positive interval/);
  });

  it('lets what a timer set off (promise reactions, timers it sets within the span) run before the next one fires', async () => {
    const timers = new TestTimers(new TestClock(0));
    const seen: string[] = [];
    timers.after(10, () => {
      void Promise.resolve().then(() => seen.push('reaction of the first'));
      timers.after(5, () => seen.push(`set by the first, at ${timers.clock.now().getTime()}`));
    });
    timers.after(20, () => seen.push('second'));
    await timers.advance(20);
    expect(seen).toEqual(['reaction of the first', 'set by the first, at 15', 'second']);
  });
});
