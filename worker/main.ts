// The worker process (Procfile `worker:`): runs job handlers and serves health, metrics and the jobs API.
import closeWithGrace from "close-with-grace";
import { loadWorkerConfig } from "../core/config/worker-config.ts";
import { configOrExit } from "../core/config/parse-env.ts";
import { buildWorkerApp } from "./app.ts";

const config = configOrExit(() => loadWorkerConfig(process.env));

const app = await buildWorkerApp({ config });
// Jobs get SHUTDOWN_TIMEOUT_SECONDS to finish; the rest of the shutdown gets a little more on top.
closeWithGrace({ delay: (config.SHUTDOWN_TIMEOUT_SECONDS + 15) * 1000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, "worker stopping after an unhandled error");
  else app.log.info({ signal }, "worker stopping");
  await app.close();
});
await app.listen({ host: config.HOST, port: config.PORT });
