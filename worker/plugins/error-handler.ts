import type { FastifyError } from "fastify";
import fp from "fastify-plugin";
import { BulkEnqueueError } from "../../core/jobs/enqueue.ts";
import { JobActionError } from "../../core/jobs/job-actions.ts";
import {
  IdempotencyConflictError,
  JobNotQueuedError,
  PayloadInvalidError,
  QuotaExceededError,
  UnknownJobTypeError,
} from "../../core/jobs/errors.ts";
import { reportError } from "../../core/observability/sentry.ts";
import { HttpError } from "../http-error.ts";

/** Turns a domain error from core into the HTTP error a client can act on. */
function fromDomain(error: Error): HttpError | undefined {
  if (error instanceof UnknownJobTypeError) {
    return new HttpError(400, "unknown_job_type", error.message, { knownTypes: error.knownTypes });
  }
  if (error instanceof PayloadInvalidError) {
    return new HttpError(400, "invalid_payload", error.message, { fields: error.problems });
  }
  if (error instanceof BulkEnqueueError) {
    return new HttpError(400, "invalid_jobs", error.message, {
      jobs: error.failures.map(({ index, error: e }) => {
        const mapped = fromDomain(e);
        return { index, code: mapped?.code ?? "invalid_job", message: e.message, ...(mapped?.extra ?? {}) };
      }),
    });
  }
  if (error instanceof IdempotencyConflictError) return new HttpError(409, "idempotency_conflict", error.message, { jobId: error.jobId });
  if (error instanceof JobNotQueuedError) return new HttpError(409, "job_not_queued", error.message);
  if (error instanceof QuotaExceededError) return quotaExceeded(error);
  if (error instanceof JobActionError) {
    return new HttpError(error.code === "job_not_found" ? 404 : 409, error.code, error.message, error.state ? { state: error.state } : {});
  }
  return undefined;
}

/** Seconds a client is told to wait when room comes back as jobs start rather than at a set time. */
const WAITING_QUOTA_RETRY_SECONDS = 60;

/** 429 naming the quota, its numbers and when it resets; Retry-After says when to send again. */
function quotaExceeded(error: QuotaExceededError): HttpError {
  const retryAfter = error.resetsAt ? Math.max(1, Math.ceil((error.resetsAt.getTime() - Date.now()) / 1000)) : WAITING_QUOTA_RETRY_SECONDS;
  return new HttpError(
    429,
    "quota_exceeded",
    `${error.message}. Nothing was enqueued; GET /api/subscriptions shows the plan's limits and usage`,
    {
      quota: error.quota,
      plan: error.plan,
      limit: error.limit,
      used: error.used,
      requested: error.requested,
      resetsAt: error.resetsAt?.toISOString() ?? null,
    },
    { "retry-after": String(retryAfter) },
  );
}

/** Fastify's own 4xx errors, reworded to say what to send instead. */
function fromFastify(error: FastifyError, bodyLimit: number | undefined): HttpError | undefined {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HttpError(413, "body_too_large", `the request body is larger than the limit of ${bodyLimit ?? "?"} bytes`, {
        limitBytes: bodyLimit,
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json");
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new HttpError(error.statusCode, (error.code ?? "bad_request").toLowerCase(), error.message);
  }
  return undefined;
}

/**
 * One JSON error shape for every failure. Expected errors are answered plainly; anything else is a
 * 500 that reveals nothing internal, is logged with its stack and reported to Sentry, and carries
 * the request id so an operator can find the log line.
 */
export const errorHandlerPlugin = fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const http = error instanceof HttpError ? error : (fromDomain(error) ?? fromFastify(error, request.routeOptions.bodyLimit));
      if (http) {
        if (http.statusCode === 429 || http.statusCode === 401) request.log.info({ code: http.code }, http.message);
        return reply.code(http.statusCode).headers(http.headers).send(http.body());
      }
      request.log.error({ err: error }, "request failed unexpectedly");
      reportError(error, { route: request.routeOptions.url ?? "unknown", request_id: String(request.id) });
      return reply.code(500).send(
        new HttpError(500, "internal_error", `something went wrong on our side; quote request id ${request.id} when reporting it`, {
          requestId: request.id,
        }).body(),
      );
    });
    app.setNotFoundHandler((request, reply) => {
      reply
        .code(404)
        .send(new HttpError(404, "route_not_found", `no route ${request.method} ${request.url.split("?")[0]}; see GET /api-docs`).body());
    });
  },
  { name: "error-handler" },
);
