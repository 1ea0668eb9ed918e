import type { ToolsConfig } from "../../core/config/tools-config.ts";
import { provision } from "./provision.ts";

/** The local development database's name when DATABASE_URL is not set. */
export const DEV_DATABASE = "gpt_platform";

/** DATABASE_URL when set; otherwise the provisioned local development database. */
export async function devDatabaseUrl(config: ToolsConfig, log: (line: string) => void): Promise<string> {
  const result = await provision({ explicitUrl: config.DATABASE_URL, localDatabases: [DEV_DATABASE], log });
  return result.urls[DEV_DATABASE]!;
}
