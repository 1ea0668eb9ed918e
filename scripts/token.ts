// npm run token -- --org <organisation id or slug> [--scopes jobs:read,jobs:write] [--ttl-days 30] [--subject name]
// Prints an API token for the worker's jobs API on stdout (and nothing else there), so
//   TOKEN=$(npm run -s token -- --org demo)
// works in a shell.
import { parseArgs } from "node:util";
import { API_SCOPES, type ApiScope } from "../core/auth/api-token.ts";
import { apiTokenCreate } from "../core/auth/api-tokens.ts";
import { loadToolsConfig } from "../core/config/tools-config.ts";
import { connectDatabase } from "../core/db/connect.ts";
import { isUuid, withOrg } from "../core/db/org-scope.ts";
import { organisationBySlug } from "../core/accounts/organisations.ts";
import { devDatabaseUrl } from "./lib/dev-database.ts";
import { localEnv } from "./lib/local-env.ts";
import { runTool, UsageError } from "./lib/run-tool.ts";

const HELP = `Usage: npm run token -- --org <organisation id or slug> [options]

  --org <id|slug>      organisation the token acts for (a slug is looked up in the database)
  --scopes <list>      comma-separated, from: ${API_SCOPES.join(", ")} (default: all)
  --ttl-days <n>       lifetime in days, 1..365 (default 30)
  --subject <name>     who the token is for, recorded in its "sub" claim (default: cli)
  --name <text>        label shown on the API tokens page

Records the token in the organisation's API tokens (so it can be revoked) and signs it with
JWT_SECRET (from the environment, .env, or .data/local.env written by npm start).`;

await runTool("token", async () => {
  const { values } = parseArgs({
    options: {
      org: { type: "string" },
      scopes: { type: "string" },
      "ttl-days": { type: "string" },
      subject: { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (!values.org) throw new UsageError(`--org is required\n${HELP}`);
  const scopes = (values.scopes ?? API_SCOPES.join(",")).split(",").map((s) => s.trim());
  const unknown = scopes.filter((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope(s) ${unknown.join(", ")}; known: ${API_SCOPES.join(", ")}`);
  const ttlDays = Number(values["ttl-days"] ?? 30);
  if (!Number.isInteger(ttlDays) || ttlDays < 1 || ttlDays > 365) throw new UsageError("--ttl-days must be a whole number from 1 to 365");

  const config = loadToolsConfig(localEnv(process.env));
  if (!config.JWT_SECRET) {
    throw new UsageError("JWT_SECRET is not set: set it (at least 32 characters), or run npm start once to generate local secrets");
  }
  const url = await devDatabaseUrl(config, () => {});
  const db = connectDatabase({ url, appPassword: config.APP_DATABASE_PASSWORD, maxConnections: 1, applicationName: "gpt-platform:token" });
  try {
    // Operator tool: resolves the slug as the owner, across tenants.
    const organisation = isUuid(values.org) ? { id: values.org } : await organisationBySlug(db.owner, values.org);
    if (!organisation) throw new UsageError(`no organisation with slug "${values.org}" (npm start creates "demo")`);
    const created = await withOrg(db.app, organisation.id, (trx) =>
      apiTokenCreate(trx, config.JWT_SECRET!, {
        orgId: organisation.id,
        name: values.name ?? `cli token (${values.subject ?? "cli"})`,
        scopes: scopes as ApiScope[],
        ttlDays,
        createdBy: null,
        subject: values.subject ?? "cli",
      }),
    ).catch((error: { code?: string }) => {
      if (error.code === "23503") throw new UsageError(`no organisation with id ${organisation.id}`);
      throw error;
    });
    console.error(
      `token: organisation ${organisation.id}, scopes ${scopes.join(" ")}, valid ${ttlDays} days, id ${created.id} (revoke it on the API tokens page)`,
    );
    console.log(created.token);
  } finally {
    await db.close();
  }
});
