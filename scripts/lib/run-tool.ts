import { ConfigError } from "../../core/config/parse-env.ts";
import { MigrationError } from "../../core/db/migrator.ts";
import { ProvisionError } from "./provision.ts";

/** Exit codes shared by every tool, so scripts and CI can tell failures apart. */
export const EXIT = { ok: 0, failure: 1, config: 2, provision: 3, migration: 4, usage: 64 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Runs a tool's main function and turns the errors operators can act on into one clear message
 * and a distinct exit code. Anything unexpected keeps its stack trace.
 */
export async function runTool(name: string, main: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await main()) ?? EXIT.ok;
  } catch (error) {
    const known: [new (...args: never[]) => Error, number][] = [
      [UsageError, EXIT.usage],
      [ConfigError, EXIT.config],
      [ProvisionError, EXIT.provision],
      [MigrationError, EXIT.migration],
    ];
    const match = known.find(([type]) => error instanceof type);
    if (match) {
      console.error(`${name}: ${(error as Error).message}`);
      process.exitCode = match[1];
    } else {
      console.error(`${name}: unexpected failure:`, error);
      process.exitCode = EXIT.failure;
    }
  }
}
