import { parse, protectDashedWords } from '../../../src/cli/context.js';

describe('command-line words beginning with a dash', () => {
  const options = { name: { type: 'string' as const }, public: { type: 'boolean' as const } };

  it('treats a "-x…" word as an id, not a flag', () => {
    expect(protectDashedWords(['-Abc123', '--public'], options)).toEqual(['--public', '--', '-Abc123']);
    const { positionals, values } = parse(['-Abc123', '--public'], options, { min: 1, max: 1, usage: 'x ID' });
    expect(positionals).toEqual(['-Abc123']);
    expect(values.public).toBe(true);
  });

  it('keeps a "-x…" value with its flag', () => {
    const { values } = parse(['--name', '-dashing'], options, { min: 0, max: 0, usage: 'x' });
    expect(values.name).toBe('-dashing');
  });

  it('still refuses unknown long flags', () => {
    expect(() => parse(['--frobnicate'], options, { min: 0, max: 0, usage: 'x' })).toThrow(/Unknown option '--frobnicate'/);
  });
});
