import t from "tap";
import { createLogger } from "../../core/logging/logger.ts";
import { captureLines } from "../helpers/logs.ts";

t.test("secrets are redacted from log lines", async (t) => {
  const { stream, lines } = captureLines();
  const log = createLogger("test", "info", stream);
  log.info(
    {
      req: { headers: { authorization: "Bearer eyJ.secret.token", cookie: "sid=abc" } },
      password: "hunter22hunter22",
      payload: { apiKey: "sk-live-123", nested: { refresh_token: "rt-456" }, harmless: "visible" },
    },
    "request",
  );
  const line = lines()[0]!;
  for (const secret of ["eyJ.secret.token", "sid=abc", "hunter22hunter22", "sk-live-123", "rt-456"]) {
    t.notMatch(line, secret, `${secret} is not logged`);
  }
  t.match(line, /\[redacted\]/);
  t.match(line, /visible/, "ordinary fields stay");
});

t.test("credentials inside error messages and stacks are scrubbed", async (t) => {
  const { stream, lines } = captureLines();
  const log = createLogger("test", "info", stream);
  const error = new Error(
    "connect to postgres://app:not-a-real-password@db/x failed; Authorization: Bearer tok-0123456789abcdef; password=letmein123",
  );
  log.error({ err: error }, "job failed");
  const line = lines()[0]!;
  for (const secret of ["not-a-real-password", "tok-0123456789abcdef", "letmein123"]) t.notMatch(line, secret, `${secret} is not logged`);
  t.match(line, /postgres:\/\/app:\[redacted\]@db\/x/, "the rest of the message stays readable");
});
