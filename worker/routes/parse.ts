import type { z } from "zod";
import { fieldProblems } from "../../core/jobs/errors.ts";
import { HttpError } from "../http-error.ts";

/** Validates request input with a schema; a failure is a 400 naming every failing field. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: "body" | "params" | "query"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = fieldProblems(result.error.issues, what === "body" ? "" : what);
  throw new HttpError(
    400,
    "invalid_request",
    `the request ${what} is invalid: ${fields.map((f) => `${f.field || what}: ${f.message}`).join("; ")}`,
    {
      fields,
    },
  );
}
