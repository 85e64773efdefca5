// The soak's flags and their environment variables (flags win).

export interface Options {
  readonly minutes: number;
  readonly workers: number;
  readonly perSecond: number;
}

/** Bad flags or settings (exit code 2). */
export class UsageError extends Error {}

function number(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new UsageError(`${name} must be a number greater than 0 and at most ${max} (got ${raw})`);
  return value;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const match = /^--(minutes|workers|rate)(?:=(.*))?$/.exec(argv[i]!);
    if (!match) throw new UsageError(`unknown argument ${argv[i]} (use --minutes N, --workers N, --rate N)`);
    const value = match[2] ?? argv[(i += 1)];
    if (value === undefined) throw new UsageError(`--${match[1]} needs a value`);
    flags.set(match[1]!, value);
  }
  return {
    minutes: number('--minutes (SOAK_MINUTES)', flags.get('minutes') ?? env.SOAK_MINUTES, 2, 60),
    workers: Math.max(1, Math.round(number('--workers (SOAK_WORKERS)', flags.get('workers') ?? env.SOAK_WORKERS, 3, 16))),
    perSecond: number('--rate (SOAK_RATE, journeys a second)', flags.get('rate') ?? env.SOAK_RATE, 2, 20),
  };
}
