import t from "tap";
import {
  RATE_LIMIT_MARGIN,
  RateLimitKeyError,
  rateLimitProblems,
  rateLimitSpends,
  retryAfterSeconds,
} from "../../core/jobs/rate-limits.ts";

const ORG = "7d4c3c5e-1f0a-4c39-9a59-0a4d1f3c2b10";

t.test("a key is built from payload fields and the organisation", async (t) => {
  const spends = rateLimitSpends(
    [
      { key: "kommo:{accountId}", limit: 7, perSeconds: 1 },
      { key: "openrouter:{orgId}", limit: 60, perSeconds: 60 },
    ],
    { accountId: 31_415_926 },
    ORG,
  );
  t.same(
    spends.map((s) => s.key),
    ["kommo:31415926", `openrouter:${ORG}`],
  );
  t.equal(spends[0]!.seconds, (1 / 7) * RATE_LIMIT_MARGIN, "a seventh of a second, with the margin");
  t.equal(spends[1]!.seconds, 1 * RATE_LIMIT_MARGIN);
});

t.test("a cost field spends that many units; a missing or bad one spends one", async (t) => {
  const limits = [{ key: "tokens:{orgId}", limit: 100_000, perSeconds: 60, costField: "maxTokens" }];
  t.equal(rateLimitSpends(limits, { maxTokens: 5000 }, ORG)[0]!.seconds, (60 / 100_000) * 5000 * RATE_LIMIT_MARGIN);
  t.equal(rateLimitSpends(limits, {}, ORG)[0]!.seconds, (60 / 100_000) * RATE_LIMIT_MARGIN);
  t.equal(rateLimitSpends(limits, { maxTokens: "lots" }, ORG)[0]!.seconds, (60 / 100_000) * RATE_LIMIT_MARGIN);
});

t.test("a payload without the key's field cannot be admitted, and says which field", async (t) => {
  const limits = [{ key: "kommo:{accountId}", limit: 7, perSeconds: 1 }];
  for (const [payload, got] of [
    [{}, "nothing"],
    [{ accountId: "a b" }, '"a b"'],
    [{ accountId: 1.5 }, "number"],
    [{ accountId: { id: 1 } }, "object"],
    [null, "nothing"],
  ] as const) {
    let thrown: unknown;
    try {
      rateLimitSpends(limits, payload, ORG);
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof RateLimitKeyError, `payload ${JSON.stringify(payload)} is refused`);
    t.match((thrown as Error).message, /payload field "accountId" must be/);
    t.ok((thrown as Error).message.endsWith(`got ${got}`), (thrown as Error).message);
  }
});

t.test("declared limits are checked", async (t) => {
  t.same(rateLimitProblems([{ key: "kommo:{accountId}", limit: 7, perSeconds: 1 }]), []);
  t.same(rateLimitProblems([{ key: "global", limit: 1, perSeconds: 1 }]), []);
  const problems = rateLimitProblems([
    { key: "Bad Key", limit: 1, perSeconds: 1 },
    { key: "kommo:{accountId", limit: 0, perSeconds: Number.NaN },
  ]);
  t.equal(problems.length, 4, problems.join("; "));
  t.match(problems[0]!, /rateLimits\[0\] \(Bad Key\): a key without placeholders/);
  t.match(problems.slice(1).join("\n"), /braces must enclose a field name[\s\S]*limit must be a positive number[\s\S]*perSeconds must be/);
});

t.test("Retry-After is read as seconds or as a date", async (t) => {
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);
  t.equal(retryAfterSeconds("3", now), 3);
  t.equal(retryAfterSeconds(" 120 ", now), 120);
  t.equal(retryAfterSeconds(new Date(now + 5000).toUTCString(), now), 5);
  t.equal(retryAfterSeconds(new Date(now - 5000).toUTCString(), now), 0, "a date in the past: no wait");
  t.equal(retryAfterSeconds(undefined, now), undefined);
  t.equal(retryAfterSeconds("soon", now), undefined);
});
