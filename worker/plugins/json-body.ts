import fp from "fastify-plugin";
import sjson from "secure-json-parse";
import { MAX_JSON_DEPTH, storableJsonProblem } from "../../core/jobs/storable-json.ts";
import { HttpError } from "../http-error.ts";
import { jsonStructureProblem } from "../json-structure.ts";

/** Levels a request body may add around a payload: {"jobs": [{"payload": ...}]}. */
const ENVELOPE_DEPTH = 3;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * JSON request bodies, checked in the order that keeps every check cheap and every answer a 4xx:
 * the bytes must be UTF-8 (nothing is silently replaced), the nesting shallow enough
 * (MAX_JSON_DEPTH for a payload, plus the envelope) and no object may repeat a key, all found by
 * one pass over the text before anything recursive runs; then the parse itself (refusing
 * __proto__ and constructor.prototype keys); then no string may hold what PostgreSQL cannot store
 * (NUL, unpaired surrogates). An empty body means "no body": clients commonly send
 * Content-Type: application/json on action routes such as POST /api/jobs/:id/cancel.
 * Only application/json is accepted (Fastify's text/plain parser is removed), in UTF-8.
 */
export const jsonBodyPlugin = fp(
  async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer, request.headers["content-type"]));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  },
  { name: "json-body" },
);

export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1]?.toLowerCase();
  if (charset && charset !== "utf-8" && charset !== "utf8") {
    throw new HttpError(415, "unsupported_charset", `the body must be UTF-8 JSON; Content-Type says charset=${charset}`);
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, "invalid_utf8", "the request body is not valid UTF-8; send JSON encoded as UTF-8");
  }
  if (text.trim() === "") return undefined;
  const structure = jsonStructureProblem(text, MAX_JSON_DEPTH + ENVELOPE_DEPTH);
  if (structure?.kind === "too_deep") {
    throw new HttpError(
      400,
      "too_deeply_nested",
      `${structure.path} nests arrays and objects deeper than allowed (a payload may nest ${MAX_JSON_DEPTH} levels)`,
      {
        maxDepth: MAX_JSON_DEPTH,
      },
    );
  }
  let value: unknown;
  try {
    value = sjson.parse(text, { protoAction: "error", constructorAction: "error" });
  } catch (error) {
    throw new HttpError(400, "malformed_json", `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (structure?.kind === "duplicate_key") {
    throw new HttpError(400, "duplicate_key", `${structure.path} has the key "${structure.key}" more than once; send each key once`, {
      field: structure.path,
    });
  }
  const unstorable = storableJsonProblem(value, "body", MAX_JSON_DEPTH + ENVELOPE_DEPTH);
  if (unstorable) {
    throw new HttpError(400, "unstorable_text", `${unstorable.field} ${unstorable.message}`, { field: unstorable.field });
  }
  return value;
}
