// npm run db:codegen
// Migrates the development database, then regenerates core/db/types.ts from it. Commit the result.
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { releaseDatabase } from "../core/ops/release.ts";
import { runCodegen, TYPES_FILE } from "./lib/codegen.ts";
import { devDatabaseUrl } from "./lib/dev-database.ts";
import { localEnv } from "./lib/local-env.ts";
import { EXIT, runTool } from "./lib/run-tool.ts";

await runTool("db:codegen", async () => {
  const config = loadToolsConfig(localEnv(process.env));
  const url = await devDatabaseUrl(config, (line) => console.log(line));
  await releaseDatabase(url, (line) => console.log(line), { appPassword: config.APP_DATABASE_PASSWORD });
  const result = await runCodegen(url, { verify: false });
  if (!result.ok) {
    console.error(`db:codegen: kysely-codegen failed:\n${result.output}`);
    return EXIT.failure;
  }
  console.log(`db:codegen: wrote ${TYPES_FILE}`);
});
