import { loadWebConfig, type WebConfig } from "../../../core/config/web-config.ts";
import { connectDatabase, type DatabaseHandles } from "../../../core/db/connect.ts";

/**
 * The web process's configuration and database handles, created once on first use. Server-only
 * (.server.ts), so nothing here reaches the browser bundle.
 */
let platform: { config: WebConfig; db: DatabaseHandles } | undefined;

export function getPlatform(): { config: WebConfig; db: DatabaseHandles } {
  if (!platform) {
    const config = loadWebConfig(process.env);
    platform = {
      config,
      db: connectDatabase({ url: config.DATABASE_URL, maxConnections: config.DATABASE_POOL_MAX, applicationName: "gpt-platform:web" }),
    };
  }
  return platform;
}
