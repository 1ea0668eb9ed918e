import { STATUS_CODES } from "node:http";

/**
 * An error with everything the HTTP response needs. Routes throw these; the error handler turns
 * them into `{ statusCode, error, code, message, ...extra }`, the same shape Fastify uses for its own.
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.statusCode = statusCode;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }

  body(): Record<string, unknown> {
    return {
      statusCode: this.statusCode,
      error: STATUS_CODES[this.statusCode] ?? "Error",
      code: this.code,
      message: this.message,
      ...this.extra,
    };
  }
}
