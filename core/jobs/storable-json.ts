import type { FieldProblem } from "./errors.ts";

/**
 * What PostgreSQL's jsonb cannot store, found before a value is sent: a NUL character (U+0000) in
 * a string or key, an unpaired UTF-16 surrogate (not Unicode at all), or nesting past
 * MAX_JSON_DEPTH. Checked without recursion, so a deep value cannot overflow the stack here either.
 */

/** Deepest nesting of arrays and objects a job payload may have (documented in docs/reference/jobs-api.md). */
export const MAX_JSON_DEPTH = 32;

function stringProblem(value: string): string | undefined {
  if (value.includes("\u0000")) return "contains a NUL character (\\u0000), which cannot be stored";
  if (!value.isWellFormed()) return "contains an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not valid Unicode";
  return undefined;
}

/** The first problem with `value` (field: its path), or undefined when it can be stored as jsonb. */
export function storableJsonProblem(value: unknown, path: string, maxDepth = MAX_JSON_DEPTH): FieldProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === "string") {
      const problem = stringProblem(item.value);
      if (problem) return { field: item.path, message: problem };
      continue;
    }
    if (item.value === null || typeof item.value !== "object") continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) return { field: item.path, message: `nests deeper than ${maxDepth} levels of arrays and objects` };
    const entries = Array.isArray(item.value) ? item.value.map((v, i) => [String(i), v] as const) : Object.entries(item.value);
    for (const [key, child] of entries) {
      const keyProblem = Array.isArray(item.value) ? undefined : stringProblem(key);
      if (keyProblem) return { field: item.path, message: `a key ${keyProblem}` };
      stack.push({ value: child, path: `${item.path}.${key}`, depth });
    }
  }
  return undefined;
}
