import { parseOptions, UsageError } from './options.js';

describe('npm run soak options', () => {
  it('defaults to two minutes, three workers, two journeys a second', () => {
    expect(parseOptions([], {})).toEqual({ minutes: 2, workers: 3, perSecond: 2 });
  });

  it('takes flags (--minutes 1 or --minutes=1) over the environment', () => {
    expect(parseOptions(['--minutes', '1'], { SOAK_MINUTES: '5' }).minutes).toBe(1);
    expect(parseOptions(['--minutes=0.5', '--workers=2', '--rate', '1.5'], {})).toEqual({ minutes: 0.5, workers: 2, perSecond: 1.5 });
    expect(parseOptions([], { SOAK_MINUTES: '5', SOAK_WORKERS: '4', SOAK_RATE: '3' })).toEqual({ minutes: 5, workers: 4, perSecond: 3 });
  });

  it.each([
    [['--minutes', 'abc'], /--minutes \(SOAK_MINUTES\) must be a number greater than 0 and at most 60 \(got abc\)/],
    [['--minutes', '0'], /must be a number greater than 0/],
    [['--minutes', '61'], /at most 60/],
    [['--minutes'], /--minutes needs a value/],
    [['--hours', '1'], /unknown argument --hours/],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(UsageError);
    expect(() => parseOptions(argv, {})).toThrow(message);
  });
});
