import type { z } from "zod";

/** The result of checking a form with its schema: the typed values, or a message per field. */
export type FormResult<T> = { ok: true; values: T } | { ok: false; fieldErrors: Record<string, string> };

/**
 * Validates form fields with the same zod schema the domain uses, so the rules live in one place
 * and every failing field gets its own message next to it.
 */
export function parseForm<S extends z.ZodType>(schema: S, form: FormData, fields: readonly string[]): FormResult<z.output<S>> {
  const raw: Record<string, unknown> = {};
  for (const field of fields) {
    const all = form.getAll(field);
    raw[field] = all.length > 1 ? all : (all[0] ?? undefined);
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, values: result.data };
  const fieldErrors: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? "form");
    fieldErrors[key] ??= issue.message;
  }
  return { ok: false, fieldErrors };
}
