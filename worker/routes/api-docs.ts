import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { jobCatalogue } from "../../core/jobs/catalogue.ts";
import {
  createdJob,
  createdJobs,
  createJobBody,
  errorResponse,
  jobView,
  pauseResponse,
  queuesResponse,
  resumeResponse,
  subscriptionResponse,
} from "./api-schemas.ts";

type JsonSchema = Record<string, unknown>;

/** Replaces every `$ref` in a JSON Schema (a tree of plain objects and arrays) by `rename(ref)`. */
function withRefs(value: unknown, rename: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => withRefs(v, rename));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? rename(v) : withRefs(v, rename)]),
  );
}

/**
 * JSON Schemas for the document's components. zod writes recursive parts (z.json()) as `$defs`
 * with `#/$defs/...` references, which in an OpenAPI document resolve against the document root,
 * where there are none: each schema's `$defs` move to components.schemas as `<name>.<def>`.
 */
class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};

  /** `schema` as JSON Schema; its shared parts are registered under `name`. */
  of(name: string, schema: z.ZodType, io: "input" | "output" = "output"): JsonSchema {
    const { $schema: _ignored, $defs, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
    const rename = (ref: string) => ref.replace(/^#\/\$defs\//, `#/components/schemas/${name}.`);
    for (const [def, body] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      this.schemas[`${name}.${def}`] = withRefs(body, rename) as JsonSchema;
    }
    return withRefs(rest, rename) as JsonSchema;
  }
}

const error = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/**
 * The OpenAPI 3.1 document for the worker's HTTP surface, built from the zod schemas the routes
 * validate with (including each job type's payload and result), so it cannot drift from the code.
 */
export function buildOpenApiDocument(version: string, limits: { maxPayloadBytes: number; maxBulkJobs: number }) {
  const components = new SchemaComponents();
  const jsonSchema = (name: string, schema: z.ZodType, io: "input" | "output" = "output") => components.of(name, schema, io);
  const createJobVariants = jobCatalogue.map((job) =>
    jsonSchema(`CreateJob.${job.name}`, createJobBody.extend({ type: z.literal(job.name), payload: job.payload.optional() }), "input"),
  );
  const jobSchemas = Object.fromEntries(
    jobCatalogue.flatMap((job) => [
      [`${job.name}.payload`, { description: job.description, ...jsonSchema(`${job.name}.payload`, job.payload, "input") }],
      [`${job.name}.result`, jsonSchema(`${job.name}.result`, job.result)],
    ]),
  );
  const schemas = {
    CreateJob: { oneOf: createJobVariants, discriminator: { propertyName: "type" } },
    Job: jsonSchema("Job", jobView),
    Queues: jsonSchema("Queues", queuesResponse),
    Pause: jsonSchema("Pause", pauseResponse),
    Resume: jsonSchema("Resume", resumeResponse),
    Subscription: jsonSchema("Subscription", subscriptionResponse),
    Error: jsonSchema("Error", errorResponse),
    CreatedJob: jsonSchema("CreatedJob", createdJob),
    CreatedJobs: jsonSchema("CreatedJobs", createdJobs),
    ...jobSchemas,
  };
  const auth = [{ bearerAuth: [] }];
  const jobId = { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } };
  const queueType = { name: "type", in: "path", required: true, schema: { type: "string" }, description: "A job type, e.g. test-job." };
  const commonErrors = {
    401: error("Missing, expired, forged or wrongly signed token."),
    403: error("The token lacks the scope this route needs."),
    429: error("Too many requests from this address or for this token; see Retry-After."),
  };
  // The enqueue routes answer 429 for a quota too: nothing was enqueued.
  const enqueueErrors = {
    ...commonErrors,
    429: error(
      "Too many requests from this address or for this token (rate limit), or the organisation's plan quota (code quota_exceeded: " +
        "quota, limit, used, resetsAt name it; nothing was enqueued); see Retry-After.",
    ),
  };
  const jobResponse = { description: "The job.", content: { "application/json": { schema: { $ref: "#/components/schemas/Job" } } } };

  return {
    openapi: "3.1.0",
    info: {
      title: "GPT Agent Platform: worker API",
      version,
      description:
        "Jobs API, health and metrics of the worker service. Every /api route needs a bearer token " +
        "(npm run token -- --org <id>) whose organisation scopes everything the request can see. " +
        `Payloads are limited to ${limits.maxPayloadBytes} bytes; bulk requests to ${limits.maxBulkJobs} jobs.`,
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        metricsToken: { type: "http", scheme: "bearer", description: "METRICS_TOKEN; without it metrics answer on loopback only." },
      },
      schemas: { ...schemas, ...components.schemas },
    },
    paths: {
      "/api/jobs": {
        post: {
          summary: "Enqueue a job",
          security: auth,
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/CreateJob" } } } },
          responses: {
            201: { description: "Enqueued.", content: { "application/json": { schema: { $ref: "#/components/schemas/CreatedJob" } } } },
            200: {
              description: "The idempotency key matched an existing job; its id.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/CreatedJob" } } },
            },
            400: error(
              "Malformed JSON, invalid UTF-8, nesting deeper than 32 levels in the payload, a repeated key, NUL or unpaired surrogates in a string, " +
                "unknown job type (knownTypes lists them) or invalid payload (fields names each problem).",
            ),
            409: error("The idempotency key was used before with a different payload."),
            413: error("Payload or body too large."),
            415: error("The body is not application/json in UTF-8."),
            ...enqueueErrors,
          },
        },
      },
      "/api/jobs/bulk": {
        post: {
          summary: "Enqueue many jobs atomically: all or none",
          security: auth,
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["jobs"],
                  properties: { jobs: { type: "array", items: { $ref: "#/components/schemas/CreateJob" }, maxItems: limits.maxBulkJobs } },
                },
              },
            },
          },
          responses: {
            201: {
              description: "Enqueued; ids in request order.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/CreatedJobs" } } },
            },
            400: error("One or more jobs are invalid (jobs lists each by index); nothing was enqueued."),
            413: error("A payload or the body is too large."),
            415: error("The body is not application/json in UTF-8."),
            ...enqueueErrors,
          },
        },
      },
      "/api/jobs/{id}": {
        get: {
          summary: "A job's state, attempts, times, output and error",
          security: auth,
          parameters: [jobId],
          responses: { 200: jobResponse, 404: error("No such job in this organisation."), ...commonErrors },
        },
      },
      "/api/jobs/{id}/retry": {
        post: {
          summary: "Run a failed or cancelled job again",
          security: auth,
          parameters: [jobId],
          responses: {
            200: jobResponse,
            404: error("No such job in this organisation."),
            409: error("The job is not failed or cancelled."),
            ...commonErrors,
          },
        },
      },
      "/api/jobs/{id}/cancel": {
        post: {
          summary: "Cancel a waiting or running job",
          security: auth,
          parameters: [jobId],
          responses: {
            200: jobResponse,
            404: error("No such job in this organisation."),
            409: error("The job already finished."),
            ...commonErrors,
          },
        },
      },
      "/api/queues": {
        get: {
          summary: "This organisation's jobs per type by state, and the last 24 hours",
          security: auth,
          responses: {
            200: { description: "Per job type.", content: { "application/json": { schema: { $ref: "#/components/schemas/Queues" } } } },
            ...commonErrors,
          },
        },
      },
      "/api/subscriptions": {
        get: {
          summary: "This organisation's plan, and each quota's limit, usage and reset time",
          security: auth,
          responses: {
            200: {
              description: "The plan and its quotas.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Subscription" } } },
            },
            ...commonErrors,
          },
        },
      },
      "/api/queues/{type}/pause": {
        post: {
          summary: "Pause a job type for this organisation: its jobs stay waiting, none is lost",
          security: auth,
          parameters: [queueType],
          requestBody: {
            required: false,
            content: {
              "application/json": {
                schema: { type: "object", properties: { reason: { type: "string", maxLength: 500 } }, additionalProperties: false },
              },
            },
          },
          responses: {
            200: {
              description: "Paused (pausing again keeps the first pause).",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Pause" } } },
            },
            404: error("No such job type."),
            ...commonErrors,
          },
        },
      },
      "/api/queues/{type}/resume": {
        post: {
          summary: "Lift this organisation's pause of a job type; its waiting jobs start",
          security: auth,
          parameters: [queueType],
          responses: {
            200: {
              description: "Resumed, or it was not paused (resumed: false).",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Resume" } } },
            },
            404: error("No such job type."),
            ...commonErrors,
          },
        },
      },
      "/health": {
        get: { summary: "Liveness: the process answers and its event loop moves", responses: { 200: { description: "Alive." } } },
      },
      "/health/ready": {
        get: {
          summary: "Readiness: database, queue engine, migrations, Redis",
          responses: { 200: { description: "Ready." }, 503: { description: "Not ready; reason says why." } },
        },
      },
      "/metrics": {
        get: {
          summary: "Queue depth, throughput and run times as JSON",
          security: [{ metricsToken: [] }],
          responses: { 200: { description: "Metrics." } },
        },
      },
      "/metrics/prometheus": {
        get: { summary: "Prometheus exposition format", security: [{ metricsToken: [] }], responses: { 200: { description: "Metrics." } } },
      },
    },
  };
}

export async function apiDocsRoutes(app: FastifyInstance): Promise<void> {
  const document = buildOpenApiDocument(app.service.version, {
    maxPayloadBytes: app.config.MAX_PAYLOAD_BYTES,
    maxBulkJobs: app.config.MAX_BULK_JOBS,
  });
  app.get("/api-docs", async () => document);
}
