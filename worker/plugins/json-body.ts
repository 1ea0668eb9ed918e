import fp from "fastify-plugin";
import sjson from "secure-json-parse";
import { HttpError } from "../http-error.ts";

/**
 * JSON bodies, parsed like Fastify's default (refusing __proto__ and constructor.prototype keys),
 * except that an empty body means "no body": clients commonly send Content-Type: application/json
 * on action routes such as POST /api/jobs/:id/cancel without a payload.
 */
export const jsonBodyPlugin = fp(
  async (app) => {
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
      const text = String(body);
      if (text.trim() === "") {
        done(null, undefined);
        return;
      }
      try {
        done(null, sjson.parse(text, { protoAction: "error", constructorAction: "error" }));
      } catch (error) {
        done(new HttpError(400, "malformed_json", `the request body is not valid JSON: ${(error as Error).message}`), undefined);
      }
    });
  },
  { name: "json-body" },
);
