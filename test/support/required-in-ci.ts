/**
 * The variants a test runs in, by whether the service a variant needs is configured (`variable` in the environment):
 * all of them when it is; locally, without it, only those that need nothing (the global setup prints a line for the
 * skip); in CI (CI=true) a missing variable is a failure, never a silent skip.
 */
export function variantsRequiredInCi<T>(
  env: NodeJS.ProcessEnv,
  options: { readonly variable: string; readonly withoutService: T[]; readonly withService: T[]; readonly missingInCi: string },
): T[] {
  if (env[options.variable]) return options.withService;
  if (env.CI === 'true') throw new Error(options.missingInCi);
  return options.withoutService;
}
