import fp from "fastify-plugin";
import { connectDatabase } from "../../core/db/connect.ts";
import { warmAppConnections } from "../../core/jobs/warm-up.ts";

/** Opens the app (RLS) and owner pools; closes them last, after jobs and requests have drained. */
export const databasePlugin = fp(
  async (app) => {
    const db = connectDatabase({
      url: app.config.DATABASE_URL,
      appUrl: app.config.APP_DATABASE_URL,
      appPassword: app.config.APP_DATABASE_PASSWORD,
      maxConnections: app.config.DATABASE_POOL_MAX,
      minConnections: warmAppConnections(app.config.DATABASE_POOL_MAX),
      applicationName: "gpt-platform:worker",
    });
    app.decorate("db", db);
    app.addHook("onClose", async () => {
      await db.close();
    });
  },
  { name: "database" },
);
