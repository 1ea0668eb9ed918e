import { Validator } from "@seriousme/openapi-schema-validator";
import t from "tap";
import { buildOpenApiDocument } from "../../worker/routes/api-docs.ts";

/** Every `$ref` in the document, with where it was found. */
function refsIn(value: unknown, path = "#"): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsIn(v, `${path}/${i}`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === "$ref" && typeof v === "string" ? [{ ref: v, at: path }] : refsIn(v, `${path}/${k}`),
  );
}

/** The object a local JSON pointer names in `document`, or undefined. */
function resolve(document: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), document);
}

t.test("the OpenAPI document is valid OpenAPI 3.1 and every reference resolves", async (t) => {
  const document = JSON.parse(JSON.stringify(buildOpenApiDocument("test", { maxPayloadBytes: 1024, maxBulkJobs: 10 })));
  const validator = new Validator();
  const result = await validator.validate(document);
  t.ok(result.valid, `valid against the OpenAPI ${validator.version} schema: ${JSON.stringify(result.errors ?? []).slice(0, 2000)}`);

  const refs = refsIn(document);
  t.ok(refs.length > 5, `${refs.length} references checked`);
  const broken = refs.filter(({ ref }) => resolve(document, ref) === undefined);
  t.same(broken, [], "no reference points where nothing is (such as #/$defs/... at the document root)");
});
