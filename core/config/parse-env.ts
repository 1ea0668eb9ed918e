import type { z } from "zod";

/**
 * Raised when a process's environment does not satisfy its schema. It carries every problem at
 * once, so an operator fixes the whole file in one go instead of one key per restart.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(processName: string, problems: readonly string[]) {
    super(
      `Configuration for ${processName} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nEvery key is documented in .env.example.",
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export type Env = Record<string, string | undefined>;

/**
 * Parses `env` with `schema`. Empty strings count as unset: `KEY=` in a .env file means
 * "not configured", never "configured as empty".
 */
export function parseEnv<S extends z.ZodObject>(processName: string, schema: S, env: Env): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") cleaned[key] = value.trim();
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join(".") || "(environment)";
    const given = cleaned[key];
    const shown = given === undefined ? "it is not set" : describeGiven(key, given);
    return `${key}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(processName, problems);
}

/** Never echo a secret back into a log: name its length instead. */
function describeGiven(key: string, value: string): string {
  if (/SECRET|KEY|TOKEN|PASSWORD|DSN|URL/i.test(key)) return `got a value of ${value.length} characters`;
  return `got "${value}"`;
}

/**
 * For a process's entry point: the parsed configuration, or every problem printed and exit 2.
 * Exit 2 means "fix the configuration", distinct from crashes (1).
 */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}
