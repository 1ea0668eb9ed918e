import fp from "fastify-plugin";
import { runHousekeeping } from "../../core/ops/housekeeping.ts";

const FIRST_RUN_DELAY_MS = 30_000;
const INTERVAL_MS = 10 * 60_000;

/**
 * Runs core/db/housekeeping on a timer in workers that run jobs. Replicas share the work through an
 * advisory lock, so adding workers adds no extra deletes.
 */
export const housekeepingPlugin = fp(
  async (app) => {
    let running: Promise<void> | undefined;
    const run = () => {
      running ??= runHousekeeping(app.db.owner)
        .then((report) => {
          if (report && Object.values(report).some((n) => n > 0)) app.log.info({ deleted: report }, "housekeeping deleted spent rows");
        })
        .catch((error: Error) => app.log.warn({ err: error }, "housekeeping failed; it runs again in 10 minutes"))
        .finally(() => {
          running = undefined;
        });
    };
    const first = setTimeout(run, FIRST_RUN_DELAY_MS);
    const every = setInterval(run, INTERVAL_MS);
    first.unref();
    every.unref();
    app.addHook("onClose", async () => {
      clearTimeout(first);
      clearInterval(every);
      await running;
    });
  },
  { name: "housekeeping", dependencies: ["database"] },
);
