import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import t from "tap";
import { toolsSchema } from "../../core/config/tools-config.ts";
import { webSchema } from "../../core/config/web-config.ts";
import { workerSchema } from "../../core/config/worker-config.ts";

t.test(".env.example documents exactly the keys the processes read", async (t) => {
  const documented = new Set(Object.keys(parseEnv(readFileSync(new URL("../../.env.example", import.meta.url), "utf8"))));
  const read = new Set([workerSchema, webSchema, toolsSchema].flatMap((schema) => Object.keys(schema.shape)));
  t.same([...read].filter((key) => !documented.has(key)).sort(), [], "every key a process reads is documented");
  t.same([...documented].filter((key) => !read.has(key)).sort(), [], "every documented key is read by some process");
});
