// npm run migrate [-- --status]
// Installs pg-boss's schema, applies pending migrations/ files and creates the catalogue's queues.
// Without DATABASE_URL it provisions and migrates the local development database.
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { migrationStatus } from "../core/db/migrator.ts";
import { releaseDatabase } from "../core/ops/release.ts";
import { devDatabaseUrl } from "./lib/dev-database.ts";
import { localEnv } from "./lib/local-env.ts";
import { runTool, UsageError } from "./lib/run-tool.ts";

const HELP = `Usage: npm run migrate [-- --status]

  (no flag)  install/upgrade the queue engine schema, apply pending migrations, create queues
  --status   list applied and pending migrations; changes nothing

Uses DATABASE_URL when set, else the local database (provisioned if needed).`;

await runTool("migrate", async () => {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return;
  }
  const unknown = args.filter((a) => a !== "--status");
  if (unknown.length > 0) throw new UsageError(`unknown argument ${unknown.join(" ")}\n${HELP}`);

  const config = loadToolsConfig(localEnv(process.env));
  const url = await devDatabaseUrl(config, (line) => console.log(line));
  if (!args.includes("--status")) {
    await releaseDatabase(url, (line) => console.log(line), { appPassword: config.APP_DATABASE_PASSWORD });
    return;
  }
  const status = await migrationStatus(url);
  const changed = new Set(status.changed.map((c) => c.file.version));
  for (const a of status.applied) {
    const mark = changed.has(a.version) ? "CHANGED since applied" : `applied ${a.appliedAt.toISOString()} (${a.durationMs} ms)`;
    console.log(`${String(a.version).padStart(4, "0")}_${a.name}  ${mark}`);
  }
  for (const p of status.pending) console.log(`${p.fileName.replace(/\.sql$/, "")}  pending`);
  console.log(
    status.pending.length === 0 && status.changed.length === 0
      ? "status: current"
      : `status: ${status.pending.length} pending, ${status.changed.length} changed`,
  );
});
